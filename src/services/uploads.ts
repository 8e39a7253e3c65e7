import type { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import type { Db } from "../db/client.ts";
import { uploadJobs, users } from "../db/schema.ts";
import { parseItalianDate, readCell, readingOf, readTextDate, readVersion, restoreFormula, swapDayMonth, versionText, type CellReading, type RowVersion } from "../sheets/cells.ts";
import { FILE_FORMAT_VERSION, matchHeader, SHEET_NAMES, TRAINEE_COLUMNS, type TraineeRow } from "../sheets/columns.ts";
import type { UploadFormat } from "../sheets/upload-parse.ts";
import type { RawCell, SheetRow } from "../sheets/xlsx-reader.ts";
import { validateCodiceFiscale } from "./codice-fiscale.ts";
import type { Clock } from "./clock.ts";
import type { Config } from "../config.ts";
import { dataFile } from "./data-files.ts";
import {
  DECLARATION_FIELDS,
  judgeDeclaration,
  type Declaration,
  type DeclarationInput,
  type EnrollmentFacts,
  type ReferenceCodes,
  type SinceVersion,
} from "./declarations.ts";
import { FACTS_SQL, toEnrollment, writeDeclaration, type KeyedFacts } from "./enrollments.ts";
import { columnsOf, jobColumns, listJobs } from "./job-listing.ts";
import type { Scope } from "./scope.ts";

export type UploadJob = typeof uploadJobs.$inferSelect;

/** Why an uploaded header or its metadata cannot be accepted, as a sentence; null when fine. */
export function uploadHeaderProblem(
  found: { header: string[]; metadata: Record<string, string> | null; monthFirstLine: number | null },
  expected: { agencyCode: string; year: number },
): string | null {
  const { header, metadata } = found;
  const { missing } = matchHeader(header);
  if (missing.length) {
    return `Nel foglio "${SHEET_NAMES.trainees}" mancano le colonne: ${missing.map((c) => c.header).join(", ")}. Usa il file scaricato da Placement e non eliminare colonne.`;
  }
  if (found.monthFirstLine !== null) return monthFirstProblem([found.monthFirstLine]);
  if (metadata) {
    if (metadata["agency_code"] && metadata["agency_code"] !== expected.agencyCode) {
      return `Il file è stato scaricato per un'altra agenzia (${metadata["agency_code"]}): carica il file della tua agenzia.`;
    }
    if (metadata["year"] && metadata["year"] !== String(expected.year)) {
      return `Il file è della campagna ${metadata["year"]}, non del ${expected.year}: scegli l'anno giusto o scarica il file del ${expected.year}.`;
    }
    if (metadata["format_version"] && metadata["format_version"] !== FILE_FORMAT_VERSION) {
      return "Il file è stato generato da una versione precedente di Placement: prenota un nuovo download e compila quello.";
    }
  }
  return null;
}

export function queueUpload(
  db: Db,
  clock: Clock,
  input: {
    agencyId: number;
    userId: number;
    year: number;
    fileName: string;
    filePath: string;
    fileSha256: string;
    fileFormat: UploadFormat;
    fileSize: number;
    sheetName: string | null;
  },
): number {
  return db
    .insert(uploadJobs)
    .values({ ...input, createdAt: clock.now() })
    .returning({ id: uploadJobs.id })
    .get().id;
}

const uploadColumns = {
  ...jobColumns(uploadJobs),
  ...columnsOf(uploadJobs, "fileName", "fileFormat", "rowsTotal", "rowsOk", "rowsKo", "rowsUnchanged", "outcomePath", "sheetName", "topReasons"),
  uploadedBy: users.name,
};

export function listUploads(db: Db, scope: Scope, limit = 50) {
  return listJobs(db, scope, uploadJobs, uploadColumns, { limit });
}

export type UploadListing = ReturnType<typeof listUploads>[number];

export function getUpload(db: Db, scope: Scope, id: number) {
  return listJobs(db, scope, uploadJobs, uploadColumns, { limit: 1, id })[0];
}

/**
 * Every enrollment of an agency's campaign, found by codice fiscale first: a person is in
 * few classes, and the cell's own text is the key, with no key string built per row.
 */
export class EnrollmentIndex {
  private byPerson = new Map<string, KeyedFacts>();
  private others = new Map<string, KeyedFacts[]>();

  add(e: KeyedFacts): void {
    if (!this.byPerson.has(e.codiceFiscale)) this.byPerson.set(e.codiceFiscale, e);
    else this.others.set(e.codiceFiscale, [...(this.others.get(e.codiceFiscale) ?? []), e]);
  }

  /** The enrollment of that person in that project and class; codes compare case-insensitively. */
  find(projectCode: string, classCode: string, codiceFiscale: string): EnrollmentFacts | undefined {
    const first = this.byPerson.get(codiceFiscale);
    if (!first) return undefined;
    if (sameCode(first.projectCode, projectCode) && sameCode(first.classCode, classCode)) return first;
    return this.others.get(codiceFiscale)?.find((e) => sameCode(e.projectCode, projectCode) && sameCode(e.classCode, classCode));
  }
}

const sameCode = (a: string, b: string) => a === b || a.toUpperCase() === b.toUpperCase();

/** Every enrollment of an agency's campaign. */
export function loadEnrollmentFacts(sqlite: Database, agencyId: number, year: number): EnrollmentIndex {
  const index = new EnrollmentIndex();
  const rows = sqlite.query(`${FACTS_SQL} WHERE e.agency_id = ? AND e.year = ?`).iterate(agencyId, year);
  for (const raw of rows) index.add(toEnrollment<KeyedFacts>(raw));
  return index;
}

export type RowOutcome = {
  line: number;
  cells: RawCell[];
  outcome: "OK" | "KO" | "INVARIATO";
  message: string | null;
  enrollmentId: number | null;
  /** What an OK row sets, on the enrollment as it was judged. */
  change: { facts: EnrollmentFacts; set: Partial<Declaration> } | null;
};

const READING = Object.fromEntries(TRAINEE_COLUMNS.map((c) => [c.key, readingOf(c)])) as Record<keyof TraineeRow, CellReading>;

/** What the rules need besides the rows: the campaign's enrollments and codes, and the day of the upload. */
export type UploadContext = {
  positions: Map<keyof TraineeRow, number>;
  facts: EnrollmentIndex;
  codes: ReferenceCodes;
  year: number;
  today: string;
  /** What changed since the version a row names (see sinceVersion). */
  since: (facts: EnrollmentFacts, version: RowVersion | null) => SinceVersion | null | "other" | "unknown";
};

const DATE_ORDER_ADVICE = "Salva il file con le date nel formato gg/mm/aaaa, oppure in formato .xlsx, e caricalo di nuovo: nessuna riga è stata applicata.";
const linesText = (list: number[]) =>
  `${list.length === 1 ? "alla riga" : "alle righe"} ${list.slice(0, 3).join(", ")}${list.length > 3 ? "…" : ""}`;

/** The sentence for a file whose dates are written month-first. */
export const monthFirstProblem = (lines: number[]) =>
  `Il file ha date scritte come mese/giorno/anno (${linesText(lines)}), come le salva un programma di calcolo impostato in inglese. ${DATE_ORDER_ADVICE}`;

/** A row that named an enrollment, valid or not, with what it wrote. */
type NamedRow = { row: RowOutcome; version: string; input: DeclarationInput };

// What a row asks for, as of its version: the same values from two versions are two asks.
const askedOf = (named: NamedRow) => {
  let asked = named.version.toUpperCase();
  for (const field of DECLARATION_FIELDS) asked += `\u0000${named.input[field].trim().toUpperCase()}`;
  return asked;
};

/** Applies the rules to each uploaded row, then marks enrollments that appear twice with different values. */
export class RowEvaluator {
  private outcomes: RowOutcome[] = [];
  // The first row that named each enrollment, and every row of an enrollment named again.
  private firstOf = new Map<number, NamedRow>();
  private repeated = new Map<number, NamedRow[]>();
  private finished = false;
  // Evidence that the file's dates are month-first: judged on the file as a whole.
  private monthFirst: number[] = [];
  private swapped: number[] = [];

  // Where each column is in the file, read once per file rather than once per cell.
  private index: Partial<Record<keyof TraineeRow, number>>;

  constructor(private context: UploadContext) {
    this.index = Object.fromEntries(context.positions);
  }

  add(row: SheetRow): void {
    if (this.finished) throw new Error("rows were added after the outcomes were read");
    const errors: string[] = [];
    const cells = row.cells;
    const projectCode = this.text(cells, "projectCode", errors);
    const classCode = this.text(cells, "classCode", errors);
    const rawCf = this.text(cells, "codiceFiscale", errors);
    const input = {} as DeclarationInput;
    for (const field of DECLARATION_FIELDS) input[field] = this.text(cells, field, errors);
    const versionCell = this.text(cells, "version", errors);
    const outcome: RowOutcome = { line: row.line, cells, outcome: "KO", message: null, enrollmentId: null, change: null };
    this.outcomes.push(outcome);

    if (projectCode === "") errors.push("Codice progetto: mancante.");
    if (classCode === "") errors.push("Codice aula: mancante.");
    const cf = validateCodiceFiscale(rawCf);
    if (!cf.ok) errors.push(`Codice fiscale: ${cf.error}`);
    const facts = cf.ok && projectCode && classCode ? this.context.facts.find(projectCode, classCode, cf.value) : undefined;
    if (cf.ok && projectCode && classCode && !facts) {
      errors.push(
        `Nessuna iscrizione della tua agenzia nel ${this.context.year} con questo codice progetto, codice aula e codice fiscale: controlla le tre colonne.`,
      );
    }
    const hireIndex = this.index.hireDate;
    const hireCell = hireIndex === undefined ? null : cells[hireIndex];
    if (typeof hireCell === "string") {
      const reading = readTextDate(restoreFormula(hireCell));
      if (reading.dayFirst === null && reading.monthFirst !== null) this.monthFirst.push(row.line);
    }
    if (!facts) {
      outcome.message = errors.join(" ");
      return;
    }

    // Rows naming the same enrollment are compared once every row is in (finish).
    const first = this.firstOf.get(facts.enrollmentId);
    const named = { row: outcome, version: versionCell, input };
    if (!first) this.firstOf.set(facts.enrollmentId, named);
    else {
      const repeated = this.repeated.get(facts.enrollmentId);
      if (repeated) repeated.push(named);
      else this.repeated.set(facts.enrollmentId, [first, named]);
    }

    const version = versionCell === "" ? null : readVersion(versionCell);
    const resolved = versionCell !== "" && !version ? "unknown" : this.context.since(facts, version);
    if (resolved === "unknown") {
      errors.push("Versione: il valore non è quello scaricato; non modificare questa colonna (nelle righe aggiunte a mano lasciala vuota).");
    } else if (resolved === "other") {
      errors.push("Versione: appartiene a un'altra riga del file scaricato; non copiare né spostare le celle di questa colonna.");
    }
    const since = typeof resolved === "object" ? resolved : null;
    // A date read day-first that is the day/month swap of the one downloaded.
    const downloaded = since && "hireDate" in since.before ? since.before.hireDate! : facts.hireDate;
    const hire = parseItalianDate(input.hireDate);
    if (hire && downloaded && hire !== downloaded && swapDayMonth(hire) === downloaded) this.swapped.push(row.line);

    if (errors.length === 0) {
      const judgement = judgeDeclaration(input, facts, { mode: "file", codes: this.context.codes, today: this.context.today, since });
      if (!judgement.ok) errors.push(...judgement.errors);
      else {
        outcome.enrollmentId = facts.enrollmentId;
        outcome.outcome = judgement.unchanged ? "INVARIATO" : "OK";
        outcome.change = judgement.unchanged ? null : { facts, set: judgement.set };
        outcome.message = judgement.notes.length ? judgement.notes.join(" ") : null;
        return;
      }
    }
    outcome.message = errors.join(" ");
  }

  /** A column's text as the rules read it; why it cannot be read goes to `errors`. */
  private text(cells: readonly RawCell[], key: keyof TraineeRow, errors: string[]): string {
    const index = this.index[key];
    const cell = index === undefined ? null : cells[index];
    if (cell === null || cell === undefined) return "";
    const read = readCell(cell, READING[key]);
    if ("error" in read) {
      errors.push(read.error);
      return "";
    }
    return read.text;
  }

  /**
   * Why the file as a whole cannot be applied: dates written month-first, as a spreadsheet
   * in an English locale saves them. One corrected date is not evidence; two swaps are.
   */
  dateOrderProblem(): string | null {
    if (this.monthFirst.length) return monthFirstProblem(this.monthFirst);
    if (this.swapped.length >= 2) {
      return `Nel file alcune date di assunzione hanno giorno e mese scambiati rispetto al file scaricato (${linesText(this.swapped)}): il programma di calcolo le ha lette come mese/giorno. ${DATE_ORDER_ADVICE}`;
    }
    return null;
  }

  /**
   * An enrollment named by several rows: with the same values, the first counts and the
   * others are unchanged; with different values, every one of them is an error.
   */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const rows of this.repeated.values()) {
      const [first, ...others] = rows as [NamedRow, ...NamedRow[]];
      const asked = askedOf(first);
      if (others.every((r) => askedOf(r) === asked)) {
        if (first.row.outcome === "KO") continue;
        for (const { row } of others) {
          row.outcome = "INVARIATO";
          row.message = `Stessi valori della riga ${first.row.line}.`;
          row.change = null;
        }
        continue;
      }
      for (const { row } of rows) {
        const lines = rows.filter((r) => r.row !== row).map((r) => r.row.line);
        const note = `L'iscrizione compare anche ${lines.length === 1 ? "alla riga" : "alle righe"} ${lines.join(", ")} con valori diversi: lasciane una sola.`;
        row.message = row.outcome === "KO" && row.message ? `${row.message} ${note}` : note;
        row.outcome = "KO";
        row.change = null;
      }
    }
  }

  /** How many rows were added so far. */
  get size(): number {
    return this.outcomes.length;
  }

  get rows(): readonly RowOutcome[] {
    this.finish();
    return this.outcomes;
  }

  counts() {
    const tally = { total: this.outcomes.length, ok: 0, ko: 0, unchanged: 0 };
    for (const row of this.rows) {
      if (row.outcome === "OK") tally.ok++;
      else if (row.outcome === "KO") tally.ko++;
      else tally.unchanged++;
    }
    return tally;
  }

  /** The most frequent reasons of KO rows, without the values, names and dates written in them. */
  topReasons(limit = 3): { reason: string; rows: number }[] {
    const tally = new Map<string, number>();
    for (const row of this.rows) {
      if (row.outcome !== "KO" || !row.message) continue;
      for (const reason of row.message.split(/(?<=\.) (?=[A-ZÈ])/)) {
        const generic = reason
          .replace(/«[^»]*»/g, "«…»")
          .replace(/ \([^)]*\)/g, "")
          .replace(/righ[ae] \d+(, \d+)*/g, (m) => (m.startsWith("righe") ? "righe …" : "riga …"));
        tally.set(generic, (tally.get(generic) ?? 0) + 1);
      }
    }
    return [...tally].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([reason, rows]) => ({ reason, rows }));
  }
}

/** The "Versione" an OK row's enrollment has once applied. */
export const appliedVersion = (row: RowOutcome) =>
  row.change ? versionText({ enrollmentId: row.change.facts.enrollmentId, revision: row.change.facts.revision + 1 }) : null;

/** An OK row's change, on the enrollment as it was judged. */
export type PlannedChange = { id: number; revision: number; before: Declaration; set: Partial<Declaration> };
/** A row's outcome: its line, its enrollment, OK, KO or INVARIATO, its message. */
export type PlannedOutcome = [number, number | null, RowOutcome["outcome"], string | null];
/** A part of a plan: the changes of some rows, or the outcomes of some rows. */
export type PlanPart = { changes: PlannedChange[] } | { outcomes: PlannedOutcome[] };

/**
 * What applying an upload writes, without the rows' cells. Its parts cross to the thread that
 * applies them (src/jobs/upload-apply-worker.ts) one at a time, as JSON text, which is quicker
 * both ways than a structured clone of as many objects; in parts, neither thread holds the
 * whole plan, as objects or as text, while the other writes (bench:import's memory).
 */
export type ApplyPlan = {
  counts: { total: number; ok: number; ko: number; unchanged: number };
  reasons: { reason: string; rows: number }[];
  /** Every change first, then every outcome. */
  parts: Iterable<PlanPart> | AsyncIterable<PlanPart>;
};

const ROWS_PER_PART = 500;

/** The items in runs of at most `size`, in order; the loop moves on by `size` each time. */
function* slices<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

/** The plan of what the judged rows write; its parts are made as they are read. */
export function applyPlan(evaluator: RowEvaluator): ApplyPlan & { parts: Iterable<PlanPart> } {
  const rows = evaluator.rows;
  function* parts(): Generator<PlanPart> {
    for (const slice of slices(rows, ROWS_PER_PART)) {
      const changes: PlannedChange[] = [];
      for (const row of slice) {
        if (row.outcome !== "OK" || !row.change) continue;
        const { facts, set } = row.change;
        const before = Object.fromEntries(DECLARATION_FIELDS.map((field) => [field, facts[field]])) as Declaration;
        changes.push({ id: facts.enrollmentId, revision: facts.revision, before, set });
      }
      if (changes.length) yield { changes };
    }
    for (const slice of slices(rows, ROWS_PER_PART)) {
      yield { outcomes: slice.map((row): PlannedOutcome => [row.line, row.enrollmentId, row.outcome, row.message]) };
    }
  }
  return { counts: evaluator.counts(), reasons: evaluator.topReasons(), parts: parts() };
}

/**
 * Writes the OK rows' changes and every row's outcome, inside the caller's transaction.
 * False when an enrollment changed after the rows were judged: the caller rolls back and
 * judges them again, so that a change made meanwhile is never lost.
 */
export async function applyUploadRows(sqlite: Database, job: { id: number; userId: number }, parts: ApplyPlan["parts"], at: number): Promise<boolean> {
  const by = { userId: job.userId, at, source: "upload" as const, uploadJobId: job.id };
  sqlite.query("DELETE FROM import_row_outcomes WHERE import_job_id = ?").run(job.id);
  // Many rows per statement: one statement per row was most of the apply's time.
  const insert = (count: number) =>
    sqlite.query(
      `INSERT INTO import_row_outcomes (import_job_id, row_number, enrollment_id, outcome, message) VALUES ${Array(count).fill("(?, ?, ?, ?, ?)").join(", ")}`,
    );
  const full = insert(OUTCOMES_PER_INSERT);
  for await (const part of parts) {
    if ("changes" in part) {
      for (const change of part.changes) {
        if (!writeDeclaration(sqlite, change, change.before, change.set, by)) return false;
      }
      continue;
    }
    for (const batch of slices(part.outcomes, OUTCOMES_PER_INSERT)) {
      const values = batch.flatMap((row) => [job.id, ...row]);
      (batch.length === OUTCOMES_PER_INSERT ? full : insert(batch.length)).run(...values);
    }
  }
  return true;
}

const OUTCOMES_PER_INSERT = 200;

/**
 * Deletes the uploaded and outcome files of uploads and master-data loads finished before the
 * retention period: they hold trainees' personal data. The jobs and their counts stay.
 */
export function expireOldUploadFiles(db: Db, clock: Clock, config: Pick<Config, "DATA_DIR" | "FILE_RETENTION_DAYS">): number {
  const cutoff = clock.now().getTime() - config.FILE_RETENTION_DAYS * 86_400_000;
  let expired = 0;
  for (const table of ["import_jobs", "master_data_jobs"]) {
    const old = db.$client
      .query(
        `SELECT id, file_path, outcome_path FROM ${table}
         WHERE status IN ('done', 'done_with_errors', 'failed') AND finished_at < ? AND (outcome_path IS NOT NULL OR file_path != '')`,
      )
      .all(cutoff) as { id: number; file_path: string; outcome_path: string | null }[];
    for (const job of old) {
      for (const path of [job.file_path, job.outcome_path]) if (path) rmSync(dataFile(config, path), { force: true });
      db.$client.query(`UPDATE ${table} SET file_path = '', outcome_path = NULL WHERE id = ?`).run(job.id);
    }
    expired += old.length;
  }
  return expired;
}
