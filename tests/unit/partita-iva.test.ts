import { describe, expect, test } from "bun:test";
import {
  normalizePartitaIva,
  partitaIvaCheckDigit,
  validatePartitaIva,
} from "../../src/services/partita-iva";

describe("normalizePartitaIva", () => {
  test.each([
    ["12345678903", "12345678903"],
    ["  123 456 789 03 ", "12345678903"],
    ["IT12345678903", "12345678903"],
    ["it 12345678903", "12345678903"],
    ["It12345678903", "12345678903"],
  ])("%p → %p", (input, expected) => {
    expect(normalizePartitaIva(input)).toBe(expected);
  });
});

describe("partitaIvaCheckDigit", () => {
  test.each([
    ["1234567890", "3"],
    ["0123456789", "7"],
    ["0761234567", "3"],
    ["8000000000", "2"],
    ["9000000000", "1"],
    ["0000000000", "0"],
  ])("%p → %p", (first10, expected) => {
    expect(partitaIvaCheckDigit(first10)).toBe(expected);
  });

  test.each([["123456789"], ["12345678901"], ["123456789A"]])("rifiuta input non valido %p", (input) => {
    expect(() => partitaIvaCheckDigit(input)).toThrow();
  });
});

describe("validatePartitaIva", () => {
  test.each([
    ["12345670017", "12345670017"],
    ["01234560587", "01234560587"],
    ["07612340153", "07612340153"],
    ["12345671205", "12345671205"],
    ["76543219992", "76543219992"],
    ["IT12345670017", "12345670017"],
    ["it 123 456 700 17", "12345670017"],
  ])("valida %p", (input, value) => {
    expect(validatePartitaIva(input)).toEqual({ ok: true, value });
  });

  const CHECK = "La cifra di controllo della partita IVA è errata: verifica di averla trascritta correttamente.";
  const OFFICE = "La partita IVA non è valida: l'ottava, la nona e la decima cifra non indicano un ufficio dell'Agenzia delle Entrate.";
  const NUMBER = "La partita IVA non è valida: le prime sette cifre non possono essere tutte zero.";
  test.each([
    ["", "", "La partita IVA è vuota."],
    ["   ", "", "La partita IVA è vuota."],
    ["IT", "", "La partita IVA è vuota."],
    ["12345670018", "12345670018", CHECK],
    ["12345670071", "12345670071", CHECK],
    ["1234567890A", "1234567890A", "La partita IVA deve contenere solo cifre."],
    ["12345-78903", "12345-78903", "La partita IVA deve contenere solo cifre."],
    ["1234567890", "1234567890", "La partita IVA deve avere 11 cifre."],
    ["123456789033", "123456789033", "La partita IVA deve avere 11 cifre."],
    // Right check digit, impossible structure.
    ["00000000000", "00000000000", NUMBER],
    ["00000000017", "00000000017", NUMBER],
    ["12345670001", "12345670001", OFFICE],
    ["12345678903", "12345678903", OFFICE],
    ["12345671014", "12345671014", OFFICE],
  ])("rifiuta %p", (input, value, error) => {
    expect(validatePartitaIva(input)).toEqual({ ok: false, value, error });
  });
});
