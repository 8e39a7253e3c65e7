import { formatDate } from "./campaigns.ts";
import { validatePartitaIva } from "./partita-iva.ts";

/*
 * The rules for what an agency declares about one enrollment (SPEC §7, §8): one rule set,
 * used by the spreadsheet import and by editing on the page.
 */

export const NOT_VULNERABLE = "NO";

export type PlacementValues = {
  placed: boolean | null;
  hireDate: string | null;
  contractType: string | null;
  employerVat: string | null;
  employerName: string | null;
};

const PLACEMENT_FIELDS = ["placed", "hireDate", "contractType", "employerVat", "employerName"] as const;

/** What the clerk wrote, as text; an empty string means "no change". */
export type DeclarationInput = {
  fasciaDebole: string;
  placed: string;
  hireDate: string;
  contractType: string;
  employerVat: string;
  employerName: string;
};

/** What is on record for the enrollment, and what the rules need to know about it. */
export type EnrollmentFacts = {
  enrollmentId: number;
  homogeneous: boolean;
  classCategory: string | null;
  projectEndDate: string;
  fasciaDebole: string | null;
} & PlacementValues;

export type ReferenceCodes = { categories: ReadonlySet<string>; contractTypes: ReadonlySet<string> };

export type DeclarationChange = { fasciaDebole?: string; placement?: PlacementValues };

export type DeclarationResult =
  | { ok: true; change: DeclarationChange; unchanged: boolean }
  | { ok: false; errors: string[] };

const YES = new Set(["SI", "SÌ", "S"]);
const NO = new Set(["NO", "N"]);

/** dd/mm/yyyy (or d/m/yyyy, or ISO) to ISO; null when it is not a real date. */
export function parseItalianDate(text: string): string | null {
  const match = text.match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/) ?? null;
  const iso = text.match(/^(\d{4})-(\d{2})-(\d{2})$/);
  const [y, m, d] = match ? [match[3], match[2], match[1]] : iso ? [iso[1], iso[2], iso[3]] : [];
  if (!y || !m || !d) return null;
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(m) - 1 || date.getUTCDate() !== Number(d)) {
    return null;
  }
  return date.toISOString().slice(0, 10);
}

export function checkDeclaration(input: DeclarationInput, facts: EnrollmentFacts, codes: ReferenceCodes): DeclarationResult {
  const errors: string[] = [];
  const change: DeclarationChange = {};

  const fascia = input.fasciaDebole.trim().toUpperCase();
  if (fascia !== "") {
    if (fascia !== NOT_VULNERABLE && !codes.categories.has(fascia)) {
      errors.push(`Fascia debole: il codice «${fascia}» non esiste; scrivi NO o un codice della Legenda.`);
    } else if (facts.homogeneous) {
      // The class decides; repeating its category is fine, anything else is refused.
      if (fascia !== facts.classCategory) {
        errors.push(
          `Fascia debole: l'aula è omogenea (categoria ${facts.classCategory}) e la fascia debole non si può modificare.`,
        );
      }
    } else {
      change.fasciaDebole = fascia;
    }
  }

  const placementGiven = PLACEMENT_FIELDS.some((field) => input[field].trim() !== "");
  if (placementGiven) {
    const placed = input.placed.trim().toUpperCase();
    const hire = input.hireDate.trim();
    const contract = input.contractType.trim().toUpperCase();
    const vat = input.employerVat.trim();
    const employer = input.employerName.trim();
    if (YES.has(placed)) {
      const before = errors.length;
      const hireDate = hire === "" ? null : parseItalianDate(hire);
      if (hire === "") errors.push("Data assunzione: obbligatoria con Placement SI.");
      else if (!hireDate) errors.push(`Data assunzione: «${hire}» non è una data valida; scrivila come gg/mm/aaaa.`);
      else if (hireDate <= facts.projectEndDate) {
        errors.push(`Data assunzione: deve essere successiva alla fine del progetto (${formatDate(facts.projectEndDate)}).`);
      }
      if (contract === "") errors.push("Tipo contratto: obbligatorio con Placement SI.");
      else if (!codes.contractTypes.has(contract)) {
        errors.push(`Tipo contratto: il codice «${contract}» non esiste; usa un codice della Legenda.`);
      }
      let vatValue: string | null = null;
      if (vat !== "") {
        const checked = validatePartitaIva(vat);
        if (checked.ok) vatValue = checked.value;
        else errors.push(`P.IVA datore di lavoro: ${checked.error}`);
      }
      if (errors.length === before) {
        change.placement = {
          placed: true,
          hireDate,
          contractType: contract,
          employerVat: vatValue,
          employerName: employer === "" ? null : employer,
        };
      }
    } else if (NO.has(placed)) {
      if (hire !== "" || contract !== "" || vat !== "" || employer !== "") {
        errors.push("Placement: con NO lascia vuote data di assunzione, tipo contratto e datore di lavoro.");
      } else {
        change.placement = { placed: false, hireDate: null, contractType: null, employerVat: null, employerName: null };
      }
    } else if (placed === "") {
      errors.push("Placement: scrivi SI o NO, poiché hai compilato i dati dell'assunzione.");
    } else {
      errors.push(`Placement: «${input.placed.trim()}» non è valido; scrivi SI o NO.`);
    }
  }

  if (errors.length) return { ok: false, errors };
  const sameFascia = change.fasciaDebole === undefined || change.fasciaDebole === facts.fasciaDebole;
  const samePlacement =
    change.placement === undefined ||
    (change.placement.placed === facts.placed &&
      change.placement.hireDate === facts.hireDate &&
      change.placement.contractType === facts.contractType &&
      change.placement.employerVat === facts.employerVat &&
      change.placement.employerName === facts.employerName);
  return { ok: true, change, unchanged: sameFascia && samePlacement };
}
