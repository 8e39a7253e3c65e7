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
    ["12345678903", "12345678903"],
    ["01234567897", "01234567897"],
    ["07612345673", "07612345673"],
    ["IT12345678903", "12345678903"],
    ["it 123 456 789 03", "12345678903"],
  ])("valida %p", (input, value) => {
    expect(validatePartitaIva(input)).toEqual({ ok: true, value });
  });

  test.each([
    ["", "", "La partita IVA è vuota."],
    ["   ", "", "La partita IVA è vuota."],
    ["IT", "", "La partita IVA è vuota."],
    ["12345678904", "12345678904", "La cifra di controllo della partita IVA è errata: verifica di averla trascritta correttamente."],
    ["12345678930", "12345678930", "La cifra di controllo della partita IVA è errata: verifica di averla trascritta correttamente."],
    ["1234567890A", "1234567890A", "La partita IVA deve contenere solo cifre."],
    ["12345-78903", "12345-78903", "La partita IVA deve contenere solo cifre."],
    ["1234567890", "1234567890", "La partita IVA deve avere 11 cifre."],
    ["123456789033", "123456789033", "La partita IVA deve avere 11 cifre."],
  ])("rifiuta %p", (input, value, error) => {
    expect(validatePartitaIva(input)).toEqual({ ok: false, value, error });
  });
});
