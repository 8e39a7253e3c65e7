import { partitaIvaCheckDigit } from "./partita-iva";

export type CodiceFiscaleResult =
  | { ok: true; value: string; kind: "personal" | "provisional" }
  | { ok: false; value: string; error: string };

const MONTH_LETTERS = "ABCDEHLMPRST";
const OMOCODIA_LETTERS = "LMNPQRSTUV";
// Positions (0-based) that hold digits and may carry omocodia letters, in left-to-right order.
const DIGIT_POSITIONS = [6, 7, 9, 10, 12, 13, 14] as const;

// Official odd-position values for 0-9 and A-Z (digit d shares the value of the d-th letter).
const ODD_VALUES = [
  1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

function charIndex(ch: string): number {
  const code = ch.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 90) return code - 65;
  return -1;
}

// A code as it is usually written: nothing to take away or to raise to upper case.
const WRITTEN_AS_STORED = /^[A-Z0-9]{16}$/;

export function normalizeCodiceFiscale(input: string): string {
  return WRITTEN_AS_STORED.test(input) ? input : input.replace(/\s+/g, "").toUpperCase();
}

export function codiceFiscaleCheckChar(first15: string): string {
  if (!/^[A-Z0-9]{15}$/.test(first15)) {
    throw new Error(
      "Per calcolare il carattere di controllo servono esattamente 15 lettere maiuscole o cifre.",
    );
  }
  return checkChar(first15);
}

/** The check character of the first 15 characters, known to be capital letters or digits. */
function checkChar(code: string): string {
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const idx = charIndex(code[i]!);
    // Position 1 (1-based) is odd, i.e. even 0-based index.
    sum += i % 2 === 0 ? ODD_VALUES[idx]! : idx;
  }
  return String.fromCharCode(65 + (sum % 26));
}

// Every character where it belongs: the checks one by one below, each with its sentence, all pass.
const PERSONAL_SHAPE = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;

// The digit each character stands for, by its code: 0-9, or an omocodia letter's digit.
const DIGIT_OF = new Int8Array(128).fill(-1);
for (let d = 0; d < 10; d++) {
  DIGIT_OF[48 + d] = d;
  DIGIT_OF[OMOCODIA_LETTERS.charCodeAt(d)] = d;
}

function digitAt(cf: string, pos: number): number {
  const code = cf.charCodeAt(pos);
  return code < 128 ? DIGIT_OF[code]! : -1;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(month: number, year: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function resolveCentury(yy: number): number {
  const currentYy = new Date().getFullYear() % 100;
  return yy > currentYy ? 1900 + yy : 2000 + yy;
}

function validatePersonal(value: string): string | null {
  return PERSONAL_SHAPE.test(value) ? birthAndCheckProblem(value) : shapeProblem(value) ?? birthAndCheckProblem(value);
}

/** Which character of a 16-character code is out of place, or null when none is. */
function shapeProblem(value: string): string | null {
  if (!/^[A-Z0-9]+$/.test(value)) {
    return "Il codice fiscale può contenere solo lettere e cifre.";
  }
  if (!/^[A-Z]{6}$/.test(value.slice(0, 6))) {
    return "I primi sei caratteri del codice fiscale (cognome e nome) devono essere lettere.";
  }
  for (const pos of DIGIT_POSITIONS) {
    const ch = value[pos]!;
    if (!/[0-9]/.test(ch) && !OMOCODIA_LETTERS.includes(ch)) {
      return `Il carattere in posizione ${pos + 1} del codice fiscale non è valido: è attesa una cifra (o una lettera di omocodia tra L, M, N, P, Q, R, S, T, U, V).`;
    }
  }
  const month = MONTH_LETTERS.indexOf(value[8]!) + 1;
  if (month === 0) {
    return "La lettera del mese di nascita (nona posizione) non è valida: sono ammesse A, B, C, D, E, H, L, M, P, R, S, T.";
  }
  if (!/[A-Z]/.test(value[11]!)) {
    return "Il codice del comune di nascita (posizioni 12-15) deve iniziare con una lettera.";
  }
  if (!/[A-Z]/.test(value[15]!)) {
    return "L'ultimo carattere del codice fiscale deve essere una lettera.";
  }
  return null;
}

/** Whether the birth date exists and the check character is right, in a code of the right shape. */
function birthAndCheckProblem(value: string): string | null {
  const month = MONTH_LETTERS.indexOf(value[8]!) + 1;
  const rawDay = digitAt(value, 9) * 10 + digitAt(value, 10);
  const day = rawDay > 40 ? rawDay - 40 : rawDay;
  if (rawDay < 1 || (rawDay > 31 && rawDay < 41) || rawDay > 71) {
    return "Il giorno di nascita nel codice fiscale non è valido: deve essere tra 01 e 31 per gli uomini o tra 41 e 71 per le donne.";
  }
  const yy = digitAt(value, 6) * 10 + digitAt(value, 7);
  // 29 February with yy = 00 is valid for 2000; the centuries a code can mean agree on
  // every other year, so the century is not needed here.
  const maxDay = month === 2 ? (yy % 4 === 0 ? 29 : 28) : daysInMonth(month, 2001);
  if (day > maxDay) {
    const dd = String(day).padStart(2, "0");
    const mm = String(month).padStart(2, "0");
    return `La data di nascita indicata nel codice fiscale non esiste (${dd}/${mm}).`;
  }
  if (checkChar(value) !== value[15]) {
    return "Il carattere di controllo del codice fiscale è errato: verifica di averlo trascritto correttamente.";
  }
  return null;
}

export function validateCodiceFiscale(input: string): CodiceFiscaleResult {
  const value = normalizeCodiceFiscale(input);
  if (value === "") {
    return { ok: false, value, error: "Il codice fiscale è vuoto." };
  }
  if (value.length === 11) {
    if (!/^\d{11}$/.test(value)) {
      return {
        ok: false,
        value,
        error: "Il codice fiscale provvisorio di 11 caratteri deve contenere solo cifre.",
      };
    }
    if (partitaIvaCheckDigit(value.slice(0, 10)) !== value[10]) {
      return {
        ok: false,
        value,
        error:
          "La cifra di controllo del codice fiscale provvisorio è errata: verifica di averlo trascritto correttamente.",
      };
    }
    return { ok: true, value, kind: "provisional" };
  }
  if (value.length !== 16) {
    return {
      ok: false,
      value,
      error: "Il codice fiscale deve avere 16 caratteri (o 11 cifre per il codice provvisorio).",
    };
  }
  const error = validatePersonal(value);
  return error === null ? { ok: true, value, kind: "personal" } : { ok: false, value, error };
}

/** Returns null unless `cf` is a valid personal (16-character) codice fiscale. */
export function decodeBirth(cf: string): { birthDate: string; sex: "M" | "F" } | null {
  const result = validateCodiceFiscale(cf);
  if (!result.ok || result.kind !== "personal") return null;
  const value = result.value;
  const year = resolveCentury(digitAt(value, 6) * 10 + digitAt(value, 7));
  const month = MONTH_LETTERS.indexOf(value[8]!) + 1;
  const rawDay = digitAt(value, 9) * 10 + digitAt(value, 10);
  const sex = rawDay > 40 ? "F" : "M";
  const day = sex === "F" ? rawDay - 40 : rawDay;
  const birthDate = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  return { birthDate, sex };
}

function lettersOnly(text: string): string {
  // Strip accents (À→A) and drop apostrophes, spaces and anything else that is not A-Z.
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toUpperCase()
    .replace(/[^A-Z]/g, "");
}

function splitLetters(text: string): { consonants: string; vowels: string } {
  let consonants = "";
  let vowels = "";
  for (const ch of text) {
    if ("AEIOU".includes(ch)) vowels += ch;
    else consonants += ch;
  }
  return { consonants, vowels };
}

function surnameCode(surname: string): string {
  const { consonants, vowels } = splitLetters(lettersOnly(surname));
  return (consonants + vowels + "XXX").slice(0, 3);
}

function nameCode(name: string): string {
  const { consonants, vowels } = splitLetters(lettersOnly(name));
  if (consonants.length >= 4) {
    return consonants[0]! + consonants[2]! + consonants[3]!;
  }
  return (consonants + vowels + "XXX").slice(0, 3);
}

export function buildCodiceFiscale(p: {
  surname: string;
  name: string;
  birthDate: string;
  sex: "M" | "F";
  placeCode: string;
  omocodia?: number;
}): string {
  if (lettersOnly(p.surname) === "") {
    throw new Error("Il cognome deve contenere almeno una lettera.");
  }
  if (lettersOnly(p.name) === "") {
    throw new Error("Il nome deve contenere almeno una lettera.");
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(p.birthDate);
  if (!match) {
    throw new Error("La data di nascita deve essere nel formato AAAA-MM-GG.");
  }
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(month, year)) {
    throw new Error(`La data di nascita ${p.birthDate} non esiste.`);
  }
  const placeCode = p.placeCode.trim().toUpperCase();
  if (!/^[A-Z]\d{3}$/.test(placeCode)) {
    throw new Error(
      "Il codice del comune di nascita deve essere una lettera seguita da tre cifre (ad esempio H501).",
    );
  }
  const omocodia = p.omocodia ?? 0;
  if (!Number.isInteger(omocodia) || omocodia < 0 || omocodia > 7) {
    throw new Error("Il livello di omocodia deve essere un numero intero tra 0 e 7.");
  }

  const dayField = p.sex === "F" ? day + 40 : day;
  const chars = (
    surnameCode(p.surname) +
    nameCode(p.name) +
    String(year % 100).padStart(2, "0") +
    MONTH_LETTERS[month - 1]! +
    String(dayField).padStart(2, "0") +
    placeCode
  ).split("");
  // The Agenzia substitutes digits starting from the rightmost one.
  for (const pos of DIGIT_POSITIONS.slice(DIGIT_POSITIONS.length - omocodia)) {
    chars[pos] = OMOCODIA_LETTERS[Number(chars[pos])]!;
  }
  const first15 = chars.join("");
  return first15 + codiceFiscaleCheckChar(first15);
}
