export type PartitaIvaResult =
  | { ok: true; value: string }
  | { ok: false; value: string; error: string };

export function normalizePartitaIva(input: string): string {
  return input.replace(/\s+/g, "").replace(/^it/i, "");
}

/** Check digit shared by partita IVA and the 11-digit provisional codice fiscale. */
export function partitaIvaCheckDigit(first10: string): string {
  if (!/^\d{10}$/.test(first10)) {
    throw new Error("Per calcolare la cifra di controllo servono esattamente 10 cifre.");
  }
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const digit = first10.charCodeAt(i) - 48;
    if (i % 2 === 0) {
      sum += digit;
    } else {
      const doubled = digit * 2;
      sum += doubled > 9 ? doubled - 9 : doubled;
    }
  }
  return String((10 - (sum % 10)) % 10);
}

/** Digits 8–10: a provincial office (001–100, 120, 121) or the offices for non-residents (888, 999). */
const isOfficeCode = (code: number) => (code >= 1 && code <= 100) || code === 120 || code === 121 || code === 888 || code === 999;

export function validatePartitaIva(input: string): PartitaIvaResult {
  const value = normalizePartitaIva(input);
  if (value === "") {
    return { ok: false, value, error: "La partita IVA è vuota." };
  }
  if (!/^\d+$/.test(value)) {
    return { ok: false, value, error: "La partita IVA deve contenere solo cifre." };
  }
  if (value.length !== 11) {
    return { ok: false, value, error: "La partita IVA deve avere 11 cifre." };
  }
  // Digits 1–7 number the taxpayer within the office: never all zeros.
  if (value.startsWith("0000000")) {
    return { ok: false, value, error: "La partita IVA non è valida: le prime sette cifre non possono essere tutte zero." };
  }
  if (!isOfficeCode(Number(value.slice(7, 10)))) {
    return {
      ok: false,
      value,
      error: "La partita IVA non è valida: l'ottava, la nona e la decima cifra non indicano un ufficio dell'Agenzia delle Entrate.",
    };
  }
  if (partitaIvaCheckDigit(value.slice(0, 10)) !== value[10]) {
    return {
      ok: false,
      value,
      error: "La cifra di controllo della partita IVA è errata: verifica di averla trascritta correttamente.",
    };
  }
  return { ok: true, value };
}
