import { TRAINEE_COLUMNS, type TraineeRow } from "../sheets/columns.ts";
import { parseItalianDate } from "../sheets/cells.ts";
import { formatDate, formatDateTime } from "../format.ts";
import { normalizePartitaIva, validatePartitaIva } from "./partita-iva.ts";

/*
 * The rules for what an agency declares about one enrollment (SPEC §7, §8): one rule set,
 * used by the spreadsheet import and by editing on the page. Each field is judged on its
 * own against the record now (R) and, when the row says how old it is, the value the field
 * had then (V): only what the clerk changed is applied, and a change made by someone else
 * since is never reverted by an old file or a stale form.
 */

export const NOT_VULNERABLE = "NO";

export const DECLARATION_FIELDS = ["fasciaDebole", "placed", "hireDate", "contractType", "employerVat", "employerName"] as const;
export type DeclarationField = (typeof DECLARATION_FIELDS)[number];

const PLACEMENT_DETAILS = ["hireDate", "contractType", "employerVat", "employerName"] as const;
const PLACEMENT_FIELDS = ["placed", ...PLACEMENT_DETAILS] as const;

/** The declarations of one enrollment as stored: the file's columns the agency fills in. */
export type Declaration = Pick<TraineeRow, DeclarationField>;

/** What the clerk wrote, as text, field by field. */
export type DeclarationInput = Record<DeclarationField, string>;

/** What is on record for the enrollment, and what the rules need to know about it. */
export type EnrollmentFacts = Declaration & {
  enrollmentId: number;
  revision: number;
  homogeneous: boolean;
  classCategory: string | null;
  projectEndDate: string;
};

/** Every code of a list, active or not. */
export type ReferenceCodes = { categories: ReadonlyMap<string, boolean>; contractTypes: ReadonlyMap<string, boolean> };

/** Who made a change, when and through what: for the messages that name it. */
export type ChangeAuthor = { at: number; by: string | null; source: "upload" | "edit" | "master"; jobId: number | null };

/**
 * What happened after the row's version: the value each changed field had at that
 * version, and the latest change of it.
 */
export type SinceVersion = { before: Partial<Declaration>; changedBy: Partial<Record<DeclarationField, ChangeAuthor>> };

export type JudgeOptions = {
  /** "file": an empty cell changes nothing and "-" clears; "form": an empty field clears. */
  mode: "file" | "form";
  codes: ReferenceCodes;
  /** The day of the upload or of the edit (YYYY-MM-DD, Italian time): no hire date after it. */
  today: string;
  /** Changes since the row's version; null when the row does not say which version it is. */
  since: SinceVersion | null;
};

export type Judgement =
  | { ok: false; errors: string[] }
  | { ok: true; set: Partial<Declaration>; notes: string[]; unchanged: boolean };

const YES = new Set(["SI", "SÌ", "S"]);
const NO = new Set(["NO", "N"]);
const CLEAR = "-";

const LABEL = Object.fromEntries(TRAINEE_COLUMNS.map((c) => [c.key, c.header])) as Record<DeclarationField, string>;

/** The value a field's text stands for; `given` is false when the text changes nothing. */
type Parsed<T> = { given: false } | { given: true; value: T | null } | { error: string };

function parseField(field: DeclarationField, raw: string, mode: JudgeOptions["mode"]): Parsed<string | boolean> {
  const text = raw.trim();
  if (text === "") return mode === "file" ? { given: false } : { given: true, value: null };
  const upper = text.toUpperCase();
  switch (field) {
    case "placed":
      if (YES.has(upper)) return { given: true, value: true };
      if (NO.has(upper)) return { given: true, value: false };
      return { error: `Placement: «${text}» non è valido; scrivi SI o NO.` };
    case "hireDate": {
      const date = parseItalianDate(text);
      return date ? { given: true, value: date } : { error: `Data assunzione: «${text}» non è una data valida; scrivila come gg/mm/aaaa.` };
    }
    case "employerVat":
      return text === CLEAR ? { given: true, value: null } : { given: true, value: normalizePartitaIva(text) };
    case "employerName":
      return text === CLEAR ? { given: true, value: null } : { given: true, value: text };
    case "fasciaDebole":
    case "contractType":
      if (text === CLEAR) {
        return {
          error:
            field === "fasciaDebole"
              ? "Fascia debole: il trattino cancella solo P.IVA e datore di lavoro; lascia la cella vuota per non cambiarla."
              : "Tipo contratto: il trattino cancella solo P.IVA e datore di lavoro; per togliere l'assunzione scrivi Placement NO.",
        };
      }
      return { given: true, value: upper };
  }
}

const SOURCE_TEXT = {
  upload: (id: number | null) => `caricamento n. ${id}`,
  edit: () => "modifica dalla pagina",
  master: (id: number | null) => `caricamento delle anagrafiche n. ${id}`,
};

export function authorText(author: ChangeAuthor): string {
  return `il ${formatDateTime(new Date(author.at))}${author.by ? ` da ${author.by}` : ""}, ${sourceText(author.source, author.jobId)}`;
}

/** Through what a change came, in words: "caricamento n. 12", "modifica dalla pagina". */
export const sourceText = (source: ChangeAuthor["source"], jobId: number | null) => SOURCE_TEXT[source](jobId);

function valueText(field: DeclarationField, value: string | boolean | null): string {
  if (value === null) return "vuoto";
  if (field === "placed") return value ? "SI" : "NO";
  if (field === "hireDate") return formatDate(value as string);
  return String(value);
}

function codeProblem(field: "fasciaDebole" | "contractType", code: string, codes: ReferenceCodes): string | null {
  if (field === "fasciaDebole" && code === NOT_VULNERABLE) return null;
  const active = (field === "fasciaDebole" ? codes.categories : codes.contractTypes).get(code);
  const where = field === "fasciaDebole" ? "scrivi NO o un codice della Legenda" : "usa un codice della Legenda";
  if (active === undefined) return `${LABEL[field]}: il codice «${code}» non esiste; ${where}.`;
  if (!active) return `${LABEL[field]}: il codice «${code}» non è più in uso; ${where}.`;
  return null;
}

type Decision = "keep" | "apply" | "stale" | "conflict";

// Text is compared as the reader leaves it: spaces, tabs and line breaks at the edges do not count.
const same = (a: string | boolean | null, b: string | boolean | null) =>
  a === b || (typeof a === "string" && typeof b === "string" && a.trim() === b.trim());

/**
 * Judges what the clerk wrote for one enrollment: which fields to set, or why the row
 * cannot be applied. A row is applied whole or not at all.
 */
export function judgeDeclaration(input: DeclarationInput, facts: EnrollmentFacts, options: JudgeOptions): Judgement {
  const errors: string[] = [];
  const parsed = {} as Record<DeclarationField, Parsed<string | boolean>>;
  for (const field of DECLARATION_FIELDS) {
    parsed[field] = parseField(field, input[field] ?? "", options.mode);
    const p = parsed[field];
    if ("error" in p) errors.push(p.error);
  }
  const atVersion = <F extends DeclarationField>(field: F): Declaration[F] =>
    options.since && field in options.since.before ? (options.since.before[field] as Declaration[F]) : facts[field];

  let placedDecision: Decision | undefined;
  const set: Partial<Declaration> = {};
  const stale: { field: DeclarationField; author: string }[] = [];
  for (const field of DECLARATION_FIELDS) {
    const p = parsed[field];
    if (!("given" in p) || !p.given) continue;
    const value = p.value;
    const now = facts[field];
    if (field === "fasciaDebole" && facts.homogeneous) {
      // The class decides: repeating its category is fine, anything else is refused.
      if (value !== null && value !== facts.classCategory) {
        // Values inside «…»: the e-mail's summary of reasons leaves them out.
        errors.push(`Fascia debole: l'aula è omogenea, con categoria «${facts.classCategory}», e la fascia debole non si può modificare; lascia la cella vuota o scrivi «${facts.classCategory}».`);
      }
      continue;
    }
    const then = atVersion(field);
    let decision: Decision;
    if (same(value, now)) decision = "keep";
    else if (same(now, then)) decision = "apply";
    else if (same(value, then)) decision = "stale";
    else decision = "conflict";
    if (field === "placed") placedDecision = decision;
    if (decision === "apply") (set as Record<string, unknown>)[field] = value;
    const author = options.since?.changedBy[field];
    if (decision === "stale" && author) stale.push({ field, author: authorText(author) });
    if (decision === "conflict") {
      const who = author ? ` (${authorText(author)})` : "";
      errors.push(
        options.mode === "file"
          ? `${LABEL[field]}: in conflitto con una modifica fatta dopo il download; ora vale «${valueText(field, now)}»${who}. Per tenere il valore del file svuota la cella Versione di questa riga; per tenere quello attuale svuota la cella ${LABEL[field]}. Poi ricarica il file.`
          : `${LABEL[field]}: nel frattempo è stato modificato e ora vale «${valueText(field, now)}»${who}. Annulla, riapri la riga e ripeti la modifica.`,
      );
    }
  }

  // Placement NO takes the hiring away: the details as they were downloaded go with it.
  if (placedDecision === "apply" && set.placed === false) {
    for (const field of PLACEMENT_DETAILS) {
      const p = parsed[field];
      const untouched = !("given" in p) || !p.given || same(p.value, facts[field]) || same(p.value, atVersion(field));
      if (!untouched) {
        errors.push("Placement: con NO lascia vuote data di assunzione, tipo contratto, P.IVA e datore di lavoro.");
        break;
      }
      delete set[field];
      if (facts[field] !== null) (set as Record<string, unknown>)[field] = null;
    }
  }
  if (errors.length) return { ok: false, errors: [...new Set(errors)] };

  const changed = Object.keys(set) as DeclarationField[];
  if (changed.length) {
    if (set.fasciaDebole !== undefined && set.fasciaDebole !== null) {
      const problem = codeProblem("fasciaDebole", set.fasciaDebole, options.codes);
      if (problem) errors.push(problem);
    }
    if (set.contractType !== undefined && set.contractType !== null) {
      const problem = codeProblem("contractType", set.contractType, options.codes);
      if (problem) errors.push(problem);
    }
    if (set.employerVat) {
      const checked = validatePartitaIva(set.employerVat);
      if (!checked.ok) errors.push(`${LABEL.employerVat}: ${checked.error}`);
    }
    if (set.hireDate) {
      if (set.hireDate <= facts.projectEndDate) {
        errors.push(`Data assunzione: deve essere successiva alla fine del progetto (${formatDate(facts.projectEndDate)}).`);
      } else if (set.hireDate > options.today) {
        errors.push(`Data assunzione: «${formatDate(set.hireDate)}» è una data futura; scrivi la data in cui l'allievo è stato assunto.`);
      }
    }
    if (PLACEMENT_FIELDS.some((field) => field in set)) {
      const merged = { ...facts, ...set };
      const details = PLACEMENT_DETAILS.some((field) => merged[field] !== null);
      if (merged.placed === true) {
        if (merged.hireDate === null) errors.push("Data assunzione: obbligatoria con Placement SI.");
        if (merged.contractType === null) errors.push("Tipo contratto: obbligatorio con Placement SI.");
      } else if (merged.placed === false && details) {
        errors.push("Placement: con NO lascia vuote data di assunzione, tipo contratto, P.IVA e datore di lavoro.");
      } else if (merged.placed === null && details) {
        errors.push("Placement: scrivi SI o NO, poiché hai compilato i dati dell'assunzione.");
      }
    }
  }
  if (errors.length) return { ok: false, errors };

  if (stale.length === 0) return { ok: true, set, notes: [], unchanged: changed.length === 0 };
  const byAuthor = new Map<string, DeclarationField[]>();
  for (const { field, author } of stale) if (!(field in set)) byAuthor.set(author, [...(byAuthor.get(author) ?? []), field]);
  const notes = [...byAuthor].map(([author, fields]) => {
    const many = fields.length > 1;
    return `${fields.map((f) => LABEL[f]).join(", ")}: ${many ? "non aggiornati perché modificati" : "non aggiornato perché modificato"} dopo il download, ${author}.`;
  });
  return { ok: true, set, notes, unchanged: changed.length === 0 };
}
