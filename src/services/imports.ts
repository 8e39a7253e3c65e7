import type { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { and, asc, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, contractTypes, importJobs, users, vulnerableCategories } from "../db/schema.ts";
import { FILE_FORMAT_VERSION, matchHeader, SHEET_NAMES, TRAINEE_COLUMNS, type TraineeRow } from "../sheets/columns.ts";
import type { UploadFormat } from "../sheets/upload-parse.ts";
import type { RawCell, SheetRow } from "../sheets/xlsx-reader.ts";
import { validateCodiceFiscale } from "./codice-fiscale.ts";
import type { Clock } from "./clock.ts";
import {
  checkDeclaration,
  type DeclarationChange,
  type DeclarationInput,
  type EnrollmentFacts,
  type ReferenceCodes,
} from "./declarations.ts";
import { inScope, type Scope } from "./scope.ts";

export type ImportJob = typeof importJobs.$inferSelect;

/** Why an uploaded header or its metadata cannot be accepted, as a sentence; null when fine. */
export function uploadHeaderProblem(
  header: string[],
  metadata: Record<string, string> | null,
  expected: { agencyCode: string; year: number },
): string | null {
  const { missing } = matchHeader(header);
  if (missing.length) {
    return `Nel foglio "${SHEET_NAMES.trainees}" mancano le colonne: ${missing.map((c) => c.header).join(", ")}. Usa il file scaricato da Placement e non eliminare colonne.`;
  }
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

export function queueImport(
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
  },
): number {
  return db
    .insert(importJobs)
    .values({ ...input, createdAt: clock.now() })
    .returning({ id: importJobs.id })
    .get().id;
}

const uploadColumns = {
  id: importJobs.id,
  agencyId: importJobs.agencyId,
  agencyCode: agencies.code,
  year: importJobs.year,
  fileName: importJobs.fileName,
  fileFormat: importJobs.fileFormat,
  status: importJobs.status,
  progressDone: importJobs.progressDone,
  progressTotal: importJobs.progressTotal,
  attempts: importJobs.attempts,
  rowsTotal: importJobs.rowsTotal,
  rowsOk: importJobs.rowsOk,
  rowsKo: importJobs.rowsKo,
  rowsUnchanged: importJobs.rowsUnchanged,
  outcomePath: importJobs.outcomePath,
  error: importJobs.error,
  createdAt: importJobs.createdAt,
  finishedAt: importJobs.finishedAt,
  uploadedBy: users.name,
};

export function listUploads(db: Db, scope: Scope, limit = 50) {
  return db
    .select(uploadColumns)
    .from(importJobs)
    .innerJoin(users, eq(users.id, importJobs.userId))
    .innerJoin(agencies, eq(agencies.id, importJobs.agencyId))
    .where(inScope(scope, importJobs.agencyId))
    .orderBy(desc(importJobs.id))
    .limit(limit)
    .all();
}

export type Upload = ReturnType<typeof listUploads>[number];

export function getUpload(db: Db, scope: Scope, id: number) {
  return db
    .select(uploadColumns)
    .from(importJobs)
    .innerJoin(users, eq(users.id, importJobs.userId))
    .innerJoin(agencies, eq(agencies.id, importJobs.agencyId))
    .where(and(eq(importJobs.id, id), inScope(scope, importJobs.agencyId)))
    .get();
}

const LISTS = { categories: vulnerableCategories, contractTypes } as const;

/** The active codes of a reference list, in the fund's order. */
export function referenceList(db: Db, list: keyof typeof LISTS) {
  const table = LISTS[list];
  return db
    .select({ code: table.code, description: table.description })
    .from(table)
    .where(eq(table.active, true))
    .orderBy(asc(table.sortOrder))
    .all();
}

export function referenceCodes(db: Db): ReferenceCodes {
  const codes = (list: keyof typeof LISTS) => new Set(referenceList(db, list).map((r) => r.code));
  return { categories: codes("categories"), contractTypes: codes("contractTypes") };
}

const factsKey = (projectCode: string, classCode: string, codiceFiscale: string) =>
  `${projectCode.toUpperCase()}\u0000${classCode.toUpperCase()}\u0000${codiceFiscale}`;

/** Every enrollment of an agency's campaign, by project code, class code and codice fiscale. */
export function loadEnrollmentFacts(sqlite: Database, agencyId: number, year: number): Map<string, EnrollmentFacts> {
  const rows = sqlite
    .query(
      `SELECT e.id, p.code AS project_code, c.code AS class_code, pa.codice_fiscale, c.homogeneous, c.category, p.end_date,
              e.fascia_debole, e.placed, e.hire_date, e.contract_type, e.employer_vat, e.employer_name
       FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = e.project_id
       JOIN participants pa ON pa.id = e.participant_id
       WHERE e.agency_id = ? AND e.year = ?`,
    )
    .all(agencyId, year) as Record<string, string | number | null>[];
  const facts = new Map<string, EnrollmentFacts>();
  for (const r of rows) {
    facts.set(factsKey(String(r.project_code), String(r.class_code), String(r.codice_fiscale)), {
      enrollmentId: Number(r.id),
      homogeneous: r.homogeneous === 1,
      classCategory: r.category as string | null,
      projectEndDate: String(r.end_date),
      fasciaDebole: r.homogeneous === 1 ? (r.category as string | null) : (r.fascia_debole as string | null),
      placed: r.placed === null ? null : r.placed === 1,
      hireDate: r.hire_date as string | null,
      contractType: r.contract_type as string | null,
      employerVat: r.employer_vat as string | null,
      employerName: r.employer_name as string | null,
    });
  }
  return facts;
}

export type RowOutcome = {
  line: number;
  cells: RawCell[];
  outcome: "OK" | "KO" | "INVARIATO";
  message: string | null;
  enrollmentId: number | null;
  change: DeclarationChange | null;
};

const FORMULA_START = /^'[=+\-@\t\r]/;
const EXCEL_EPOCH = Date.UTC(1899, 11, 30);

/** How a column is read: its header for messages, dates, and 11-digit codes that lose leading zeros. */
export type CellReading = { header: string; date: boolean; elevenDigits: boolean };

/** The text of a cell as the rules read it, or why it cannot be read. */
export function readCell(cell: RawCell | undefined, column: CellReading): { text: string } | { error: string } {
  if (cell === null || cell === undefined) return { text: "" };
  if (typeof cell === "object") return { error: `${column.header}: contiene una formula; scrivi direttamente il valore.` };
  // A CSV carries a date cell formatted as a number as its Excel serial, in text.
  if (typeof cell === "string" && column.date && /^\d{5}(\.\d+)?$/.test(cell.trim())) cell = Number(cell.trim());
  if (typeof cell === "number") {
    if (column.date && cell > 0 && cell < 2_958_466) {
      return { text: new Date(EXCEL_EPOCH + Math.round(cell) * 86_400_000).toISOString().slice(0, 10) };
    }
    // Excel drops the leading zeros of a partita IVA or provisional code typed into a number cell.
    if (column.elevenDigits && Number.isInteger(cell)) return { text: String(cell).padStart(11, "0") };
    return { text: String(cell) };
  }
  // The export put a ' before text that starts like a formula; it is not part of the value.
  const text = (FORMULA_START.test(cell) ? cell.slice(1) : cell).trim();
  // Excel opening a CSV reads digits as a number and drops the leading zeros it then saves.
  if (column.elevenDigits && /^\d{8,10}$/.test(text)) return { text: text.padStart(11, "0") };
  return { text };
}

const READING = new Map<keyof TraineeRow, CellReading>(
  TRAINEE_COLUMNS.map((c) => [
    c.key,
    { header: c.header, date: c.kind === "date", elevenDigits: c.key === "employerVat" || c.key === "codiceFiscale" },
  ]),
);

/** Applies the rules to each uploaded row, then marks enrollments that appear twice with different values. */
export class RowEvaluator {
  private outcomes: RowOutcome[] = [];
  // Every row that named an enrollment, valid or not, with what it asked for.
  private rowsOf = new Map<number, { row: RowOutcome; asked: string }[]>();
  private finished = false;

  constructor(
    private positions: Map<keyof TraineeRow, number>,
    private facts: Map<string, EnrollmentFacts>,
    private codes: ReferenceCodes,
    private year: number,
  ) {}

  add(row: SheetRow): void {
    if (this.finished) throw new Error("rows were added after the outcomes were read");
    const errors: string[] = [];
    const text = (key: keyof TraineeRow): string => {
      const index = this.positions.get(key);
      const read = readCell(index === undefined ? null : row.cells[index], READING.get(key)!);
      if ("error" in read) {
        errors.push(read.error);
        return "";
      }
      return read.text;
    };
    const projectCode = text("projectCode");
    const classCode = text("classCode");
    const rawCf = text("codiceFiscale");
    const input: DeclarationInput = {
      fasciaDebole: text("fasciaDebole"),
      placed: text("placed"),
      hireDate: text("hireDate"),
      contractType: text("contractType"),
      employerVat: text("employerVat"),
      employerName: text("employerName"),
    };
    const outcome: RowOutcome = { line: row.line, cells: row.cells, outcome: "KO", message: null, enrollmentId: null, change: null };
    this.outcomes.push(outcome);

    if (projectCode === "") errors.push("Codice progetto: mancante.");
    if (classCode === "") errors.push("Codice aula: mancante.");
    const cf = validateCodiceFiscale(rawCf);
    if (!cf.ok) errors.push(`Codice fiscale: ${cf.error}`);
    const facts = cf.ok && projectCode && classCode ? this.facts.get(factsKey(projectCode, classCode, cf.value)) : undefined;
    if (cf.ok && projectCode && classCode && !facts) {
      errors.push(
        `Nessuna iscrizione della tua agenzia nel ${this.year} con questo codice progetto, codice aula e codice fiscale: controlla le tre colonne.`,
      );
    }
    if (facts) {
      const asked = JSON.stringify(Object.values(input).map((v) => v.trim().toUpperCase()));
      const seen = this.rowsOf.get(facts.enrollmentId) ?? [];
      seen.push({ row: outcome, asked });
      this.rowsOf.set(facts.enrollmentId, seen);
      const result = checkDeclaration(input, facts, this.codes);
      if (!result.ok) errors.push(...result.errors);
      else if (errors.length === 0) {
        outcome.enrollmentId = facts.enrollmentId;
        outcome.change = result.change;
        outcome.outcome = result.unchanged ? "INVARIATO" : "OK";
        return;
      }
    }
    outcome.message = errors.join(" ");
  }

  /**
   * An enrollment named by several rows: with the same values, the first counts and the
   * others are unchanged; with different values, every one of them is an error.
   */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const rows of this.rowsOf.values()) {
      if (rows.length < 2) continue;
      const [first, ...others] = rows as [(typeof rows)[number], ...typeof rows];
      if (rows.every((r) => r.asked === first.asked)) {
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
        row.outcome = "KO";
        row.message = row.message ? `${row.message} ${note}` : note;
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
    const count = (o: RowOutcome["outcome"]) => this.rows.filter((r) => r.outcome === o).length;
    return { total: this.outcomes.length, ok: count("OK"), ko: count("KO"), unchanged: count("INVARIATO") };
  }

  /** The most frequent reasons of KO rows, without the values typed in them. */
  topReasons(limit = 3): { reason: string; rows: number }[] {
    const tally = new Map<string, number>();
    for (const row of this.rows) {
      if (row.outcome !== "KO" || !row.message) continue;
      for (const reason of row.message.split(/(?<=\.) (?=[A-ZÈ])/)) {
        const generic = reason.replace(/«[^»]*»/g, "«…»").replace(/riga \d+/g, "riga …");
        tally.set(generic, (tally.get(generic) ?? 0) + 1);
      }
    }
    return [...tally].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([reason, rows]) => ({ reason, rows }));
  }
}

/**
 * Applies the valid rows, stores every row's outcome and closes the job, all in one
 * transaction that first checks the job is still this runner's. False when it was not.
 */
export function applyImport(
  db: Db,
  clock: Clock,
  job: { id: number; attempt: number; userId: number },
  evaluator: RowEvaluator,
  outcomePath: string,
  notify: () => void,
): boolean {
  const sqlite = db.$client;
  const now = clock.now().getTime();
  const counts = evaluator.counts();
  return sqlite.transaction(() => {
    const closed = sqlite
      .query(
        `UPDATE import_jobs SET status = ?, rows_total = ?, rows_ok = ?, rows_ko = ?, rows_unchanged = ?,
                outcome_path = ?, progress_done = ?, progress_total = ?, error = NULL, lease_until = NULL, finished_at = ?
         WHERE id = ? AND attempts = ? AND status = 'running'`,
      )
      .run(
        counts.ko ? "done_with_errors" : "done",
        counts.total,
        counts.ok,
        counts.ko,
        counts.unchanged,
        outcomePath,
        counts.total,
        counts.total,
        now,
        job.id,
        job.attempt,
      );
    if (closed.changes !== 1) return false;
    const setFascia = sqlite.query(
      `UPDATE enrollments SET fascia_debole = ?, updated_by_import_job_id = ?, updated_by_user_id = ?, updated_at = ? WHERE id = ?`,
    );
    const setPlacement = sqlite.query(
      `UPDATE enrollments SET placed = ?, hire_date = ?, contract_type = ?, employer_vat = ?, employer_name = ?,
              updated_by_import_job_id = ?, updated_by_user_id = ?, updated_at = ? WHERE id = ?`,
    );
    const record = sqlite.query(
      "INSERT INTO import_row_outcomes (import_job_id, row_number, enrollment_id, outcome, message) VALUES (?, ?, ?, ?, ?)",
    );
    sqlite.query("DELETE FROM import_row_outcomes WHERE import_job_id = ?").run(job.id);
    for (const row of evaluator.rows) {
      record.run(job.id, row.line, row.enrollmentId, row.outcome, row.message);
      if (row.outcome !== "OK" || !row.change) continue;
      const { fasciaDebole, placement } = row.change;
      if (fasciaDebole !== undefined) setFascia.run(fasciaDebole, job.id, job.userId, now, row.enrollmentId);
      if (placement) {
        setPlacement.run(
          placement.placed === null ? null : placement.placed ? 1 : 0,
          placement.hireDate,
          placement.contractType,
          placement.employerVat,
          placement.employerName,
          job.id,
          job.userId,
          now,
          row.enrollmentId,
        );
      }
    }
    notify();
    return true;
  })();
}

/**
 * Deletes the uploaded and outcome files of imports finished before the retention period:
 * they hold trainees' personal data. The job and its counts stay.
 */
export function expireOldImportFiles(db: Db, clock: Clock, retentionDays: number): number {
  const cutoff = clock.now().getTime() - retentionDays * 86_400_000;
  const old = db.$client
    .query(
      `SELECT id, file_path, outcome_path FROM import_jobs
       WHERE status IN ('done', 'done_with_errors', 'failed') AND finished_at < ? AND (outcome_path IS NOT NULL OR file_path != '')`,
    )
    .all(cutoff) as { id: number; file_path: string; outcome_path: string | null }[];
  for (const job of old) {
    for (const path of [job.file_path, job.outcome_path]) if (path) rmSync(path, { force: true });
    db.$client.query("UPDATE import_jobs SET file_path = '', outcome_path = NULL WHERE id = ?").run(job.id);
  }
  return old.length;
}
