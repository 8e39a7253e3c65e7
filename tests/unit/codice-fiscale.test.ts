import { describe, expect, test } from "bun:test";
import {
  buildCodiceFiscale,
  codiceFiscaleCheckChar,
  decodeBirth,
  normalizeCodiceFiscale,
  validateCodiceFiscale,
} from "../../src/services/codice-fiscale";

// Expected check characters were computed independently from the official odd/even tables.

const ERR_EMPTY = "Il codice fiscale è vuoto.";
const ERR_LENGTH = "Il codice fiscale deve avere 16 caratteri (o 11 cifre per il codice provvisorio).";
const ERR_CHECK =
  "Il carattere di controllo del codice fiscale è errato: verifica di averlo trascritto correttamente.";
const ERR_MONTH =
  "La lettera del mese di nascita (nona posizione) non è valida: sono ammesse A, B, C, D, E, H, L, M, P, R, S, T.";
const ERR_DAY =
  "Il giorno di nascita nel codice fiscale non è valido: deve essere tra 01 e 31 per gli uomini o tra 41 e 71 per le donne.";
const ERR_CHARS = "Il codice fiscale può contenere solo lettere e cifre.";
const ERR_NAME = "I primi sei caratteri del codice fiscale (cognome e nome) devono essere lettere.";
const ERR_PLACE = "Il codice del comune di nascita (posizioni 12-15) deve iniziare con una lettera.";
const ERR_LAST = "L'ultimo carattere del codice fiscale deve essere una lettera.";
const ERR_PROV_DIGITS = "Il codice fiscale provvisorio di 11 caratteri deve contenere solo cifre.";
const ERR_PROV_CHECK =
  "La cifra di controllo del codice fiscale provvisorio è errata: verifica di averlo trascritto correttamente.";
const errDigit = (pos: number) =>
  `Il carattere in posizione ${pos} del codice fiscale non è valido: è attesa una cifra (o una lettera di omocodia tra L, M, N, P, Q, R, S, T, U, V).`;
const errDate = (ddmm: string) => `La data di nascita indicata nel codice fiscale non esiste (${ddmm}).`;

describe("normalizeCodiceFiscale", () => {
  test.each([
    ["RSSMRA85T10A562S", "RSSMRA85T10A562S"],
    ["  rssmra85t10a562s  ", "RSSMRA85T10A562S"],
    ["rss mra 85t10 a562s", "RSSMRA85T10A562S"],
    ["RSS\tMRA\n85T10A562S", "RSSMRA85T10A562S"],
  ])("%p → %p", (input, expected) => {
    expect(normalizeCodiceFiscale(input)).toBe(expected);
  });
});

describe("codiceFiscaleCheckChar", () => {
  test.each([
    ["RSSMRA85T10A562", "S"],
    ["RSSMRA85T10A56N", "H"],
    ["BNCMRA90C55H501", "Y"],
    ["RSSMRAURTMLARSN", "L"],
    ["FOXLAX00B29F205", "E"],
  ])("%p → %p", (first15, expected) => {
    expect(codiceFiscaleCheckChar(first15)).toBe(expected);
  });

  test.each([["RSSMRA85T10A56"], ["RSSMRA85T10A562S"], ["rssmra85t10a562"], ["RSSMRA85T10A56-"]])(
    "rifiuta il prefisso non valido %p",
    (input) => {
      expect(() => codiceFiscaleCheckChar(input)).toThrow();
    },
  );
});

describe("validateCodiceFiscale: codici validi", () => {
  test.each([
    ["RSSMRA85T10A562S", "RSSMRA85T10A562S", "personal"], // Mario Rossi
    ["BNCMRA90C55H501Y", "BNCMRA90C55H501Y", "personal"], // woman: day 15 + 40
    ["RSSMRA85T10A56NH", "RSSMRA85T10A56NH", "personal"], // omocodia, 2 → N at position 15
    ["RSSMRA85T10A5SNT", "RSSMRA85T10A5SNT", "personal"], // omocodia at positions 14-15
    ["RSSMRAURTMLARSNL", "RSSMRAURTMLARSNL", "personal"], // all seven digits substituted
    ["FOXLAX00B29F205E", "FOXLAX00B29F205E", "personal"], // 29 February 2000
    ["RSSMRA04B29A562G", "RSSMRA04B29A562G", "personal"], // 29 February 2004
    ["DLCLRT01L31H501M", "DLCLRT01L31H501M", "personal"], // 31 July
    ["  rssmra85t10a562s ", "RSSMRA85T10A562S", "personal"], // lowercase, padded
    ["rss mra 85 t10 a562 s", "RSSMRA85T10A562S", "personal"], // inner spaces
    ["12345678903", "12345678903", "provisional"],
    [" 0123 4567 897 ", "01234567897", "provisional"],
  ])("accetta %p", (input, value, kind) => {
    expect(validateCodiceFiscale(input)).toEqual({ ok: true, value, kind: kind as "personal" | "provisional" });
  });
});

describe("validateCodiceFiscale: codici non validi", () => {
  test.each([
    ["", "", ERR_EMPTY],
    ["   ", "", ERR_EMPTY],
    ["RSSMRA85T10A562T", "RSSMRA85T10A562T", ERR_CHECK], // wrong check char, never auto-fixed
    ["RSSMRA85T10A562A", "RSSMRA85T10A562A", ERR_CHECK],
    ["RSSMRA85T10A56NS", "RSSMRA85T10A56NS", ERR_CHECK], // omocodia without recomputing the check
    ["RSSMRA85T10A562", "RSSMRA85T10A562", ERR_LENGTH],
    ["RSSMRA85T10A562SS", "RSSMRA85T10A562SS", ERR_LENGTH],
    ["12345", "12345", ERR_LENGTH],
    ["RSSMRA85F10A562R", "RSSMRA85F10A562R", ERR_MONTH], // F is not a month letter
    ["RSSMRA85B30A562G", "RSSMRA85B30A562G", errDate("30/02")],
    ["RSSMRA85D31A562M", "RSSMRA85D31A562M", errDate("31/04")],
    ["RSSMRA01B29A562D", "RSSMRA01B29A562D", errDate("29/02")], // 2001 is not a leap year
    ["RSSMRA85T35A562G", "RSSMRA85T35A562G", ERR_DAY],
    ["RSSMRA85T00A562R", "RSSMRA85T00A562R", ERR_DAY],
    ["RSSMRA85B72A562X", "RSSMRA85B72A562X", ERR_DAY],
    ["RSSMRA85T10A56AO", "RSSMRA85T10A56AO", errDigit(15)], // A is not an omocodia letter
    ["RSSMRA85T10A56WJ", "RSSMRA85T10A56WJ", errDigit(15)],
    ["RSSMRAX5T10A562S", "RSSMRAX5T10A562S", errDigit(7)],
    ["R5SMRA85T10A562S", "R5SMRA85T10A562S", ERR_NAME],
    ["RSSMRA85T101562S", "RSSMRA85T101562S", ERR_PLACE],
    ["RSSMRA85T10A5621", "RSSMRA85T10A5621", ERR_LAST],
    ["RSSMRA85T10-562S", "RSSMRA85T10-562S", ERR_CHARS],
    ["12345678904", "12345678904", ERR_PROV_CHECK],
    ["1234567890A", "1234567890A", ERR_PROV_DIGITS],
  ])("rifiuta %p", (input, value, error) => {
    expect(validateCodiceFiscale(input)).toEqual({ ok: false, value, error });
  });
});

describe("decodeBirth", () => {
  test.each([
    ["RSSMRA85T10A562S", "1985-12-10", "M"],
    ["BNCMRA90C55H501Y", "1990-03-15", "F"],
    ["RSSMRAURTMLARSNL", "1985-12-10", "M"],
    ["FOXLAX00B29F205E", "2000-02-29", "M"],
    ["dlc lrt 01l31 h501m", "2001-07-31", "M"],
  ])("%p → %p %p", (cf, birthDate, sex) => {
    expect(decodeBirth(cf)).toEqual({ birthDate, sex: sex as "M" | "F" });
  });

  test.each([["RSSMRA85T10A562T"], ["RSSMRA85B30A562G"], ["12345678903"], [""]])(
    "restituisce null per %p",
    (cf) => {
      expect(decodeBirth(cf)).toBeNull();
    },
  );

  test("secolo: anno a due cifre fino all'anno corrente → 20xx, oltre → 19xx", () => {
    const currentYy = new Date().getFullYear() % 100;
    const base = { surname: "Rossi", name: "Mario", sex: "M" as const, placeCode: "H501" };
    const thisYear = 2000 + currentYy;
    const nextYy = (currentYy + 1) % 100;
    const recent = buildCodiceFiscale({ ...base, birthDate: `${thisYear}-01-01` });
    const old = buildCodiceFiscale({ ...base, birthDate: `${1900 + nextYy}-01-01` });
    expect(decodeBirth(recent)?.birthDate).toBe(`${thisYear}-01-01`);
    expect(decodeBirth(old)?.birthDate).toBe(`${1900 + nextYy}-01-01`);
  });
});

describe("buildCodiceFiscale", () => {
  type BuildInput = Parameters<typeof buildCodiceFiscale>[0];
  test.each<[string, BuildInput, string]>([
    [
      "Mario Rossi",
      { surname: "Rossi", name: "Mario", birthDate: "1985-12-10", sex: "M", placeCode: "A562" },
      "RSSMRA85T10A562S",
    ],
    [
      "donna: giorno + 40",
      { surname: "Bianchi", name: "Maria", birthDate: "1990-03-15", sex: "F", placeCode: "H501" },
      "BNCMRA90C55H501Y",
    ],
    [
      "nome con 4+ consonanti: 1a, 3a, 4a",
      { surname: "Gentile", name: "Gianfranco", birthDate: "1975-01-01", sex: "M", placeCode: "L219" },
      "GNTGFR75A01L219J",
    ],
    [
      "cognome e nome corti completati con X",
      { surname: "Fo", name: "Al", birthDate: "2000-02-29", sex: "M", placeCode: "f205" },
      "FOXLAX00B29F205E",
    ],
    [
      "accenti, apostrofi e spazi",
      { surname: "D'Àmico", name: "Nicolò", birthDate: "1988-05-12", sex: "M", placeCode: "F839" },
      "DMCNCL88E12F839N",
    ],
    [
      "cognome composto, nome con esattamente 4 consonanti",
      { surname: "De Luca", name: "Alberto", birthDate: "2001-07-31", sex: "M", placeCode: "H501" },
      "DLCLRT01L31H501M",
    ],
    [
      "omocodia 1",
      { surname: "Rossi", name: "Mario", birthDate: "1985-12-10", sex: "M", placeCode: "A562", omocodia: 1 },
      "RSSMRA85T10A56NH",
    ],
    [
      "omocodia 2",
      { surname: "Rossi", name: "Mario", birthDate: "1985-12-10", sex: "M", placeCode: "A562", omocodia: 2 },
      "RSSMRA85T10A5SNT",
    ],
    [
      "omocodia 7",
      { surname: "Rossi", name: "Mario", birthDate: "1985-12-10", sex: "M", placeCode: "A562", omocodia: 7 },
      "RSSMRAURTMLARSNL",
    ],
  ])("%s", (_label, input, expected) => {
    expect(buildCodiceFiscale(input)).toBe(expected);
  });

  test.each([0, 1, 2, 3, 4, 5, 6, 7])("omocodia %p produce un codice valido con la stessa data", (omocodia) => {
    const cf = buildCodiceFiscale({
      surname: "Verdi",
      name: "Anna",
      birthDate: "1992-01-01",
      sex: "F",
      placeCode: "H501",
      omocodia,
    });
    expect(validateCodiceFiscale(cf)).toEqual({ ok: true, value: cf, kind: "personal" });
    expect(decodeBirth(cf)).toEqual({ birthDate: "1992-01-01", sex: "F" });
    const letters = [6, 7, 9, 10, 12, 13, 14].filter((i) => /[A-Z]/.test(cf[i]!)).length;
    expect(letters).toBe(omocodia);
  });

  test.each<[string, Partial<BuildInput>]>([
    ["data inesistente", { birthDate: "1985-02-30" }],
    ["formato data errato", { birthDate: "10/12/1985" }],
    ["comune non valido", { placeCode: "1234" }],
    ["omocodia fuori intervallo", { omocodia: 8 }],
    ["cognome senza lettere", { surname: "''" }],
  ])("rifiuta: %s", (_label, override) => {
    const base: BuildInput = { surname: "Rossi", name: "Mario", birthDate: "1985-12-10", sex: "M", placeCode: "A562" };
    expect(() => buildCodiceFiscale({ ...base, ...override })).toThrow();
  });
});
