import type { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, exportJobs, users } from "../db/schema.ts";
import type { TraineeRow } from "../sheets/columns.ts";
import { traineeFileName, type TraineeFileContext } from "../sheets/trainee-file.ts";
import { consolidatedFileName } from "../sheets/consolidated-file.ts";
import { reportFileName } from "../sheets/report-file.ts";
import type { User } from "./auth.ts";
import { campaignClosedReason } from "./campaigns.ts";
import type { Clock } from "./clock.ts";
import type { Config } from "../config.ts";
import { dataFile } from "./data-files.ts";
import { currentVersion, ENROLLMENT_SQL, toEnrollment } from "./enrollments.ts";
import { activeCodes } from "./reference-lists.ts";
import { columnsOf, jobColumns, listJobs } from "./job-listing.ts";
import type { Scope } from "./scope.ts";

export type ExportJob = typeof exportJobs.$inferSelect;
export type ExportRequest = { trainingTypes: string[]; year: number; extraEmail: string | null; format: "xlsx" | "csv" };
export type ExportRequestErrors = Partial<Record<"trainingTypes" | "year" | "form", string>>;

/** Queues a download for the user's agency, or says what is wrong. */
export function bookExport(
  db: Db,
  clock: Clock,
  user: User,
  input: ExportRequest,
): { ok: true; id: number } | { ok: false; errors: ExportRequestErrors } {
  if (user.agencyId === null) {
    return { ok: false, errors: { form: "Le prenotazioni si fanno per un'agenzia: accedi con un'utenza dell'agenzia." } };
  }
  const known = new Set(activeCodes(db, "trainingTypes").map((t) => t.code));
  const unknown = input.trainingTypes.filter((t) => !known.has(t));
  if (unknown.length) return { ok: false, errors: { trainingTypes: `Tipologia formativa sconosciuta: ${unknown.join(", ")}.` } };
  const closed = campaignClosedReason(db, input.year, clock.now(), user.agencyId);
  if (closed) return { ok: false, errors: { year: closed } };
  return { ok: true, id: queueExport(db, clock, { agencyId: user.agencyId, agencyIds: null, userId: user.id, kind: "trainees" }, input) };
}

/** Queues a checked booking: an agency's, or the fund's own (no agency, the agencies it covers). */
export function queueExport(
  db: Db,
  clock: Clock,
  owner: { agencyId: number | null; agencyIds: number[] | null; userId: number; kind: ExportJob["kind"] },
  input: ExportRequest,
): number {
  return db
    .insert(exportJobs)
    .values({
      ...owner,
      year: input.year,
      trainingTypes: [...new Set(input.trainingTypes)].sort(),
      extraEmail: input.extraEmail,
      format: input.format,
      createdAt: clock.now(),
    })
    .returning({ id: exportJobs.id })
    .get().id;
}

const exportColumns = {
  ...jobColumns(exportJobs),
  ...columnsOf(exportJobs, "kind", "trainingTypes", "agencyIds", "extraEmail", "format", "rowCount", "filePath", "fileSize"),
  bookedBy: users.name,
};

export function listExports(db: Db, scope: Scope, limit = 50) {
  return listJobs(db, scope, exportJobs, exportColumns, { limit });
}

export function getExport(db: Db, scope: Scope, id: number) {
  return listJobs(db, scope, exportJobs, exportColumns, { limit: 1, id })[0];
}

export type ExportListing = ReturnType<typeof listExports>[number];

/** Who a job belongs to, as the lists show it: its agency's code, or the fund for its own files. */
export const ownerCode = (job: { agencyCode: string | null }) => job.agencyCode ?? "Fondo";

/** What a booking asked for, in words, for its row in the lists. */
export function exportSubject(b: Pick<ExportListing, "kind" | "agencyIds" | "year" | "trainingTypes" | "format">): string {
  const filters = `${b.year} · ${b.trainingTypes.join(", ")} · ${b.format.toUpperCase()}`;
  if (b.kind === "trainees") return filters;
  if (b.kind === "report") return `Relazione di chiusura ${b.year}`;
  const agencies = b.agencyIds?.length ? `${b.agencyIds.length === 1 ? "1 agenzia" : `${b.agencyIds.length} agenzie`}` : "tutte le agenzie";
  return `Dati acquisiti ${filters} · ${agencies}`;
}

/** The name of a booking's file as it is downloaded. */
export function exportFileName(job: Pick<ExportListing, "id" | "kind" | "agencyCode" | "year" | "format">): string {
  if (job.kind === "consolidated") return consolidatedFileName(job, job.format);
  if (job.kind === "report") return reportFileName(job);
  return traineeFileName({ agencyCode: job.agencyCode ?? "", year: job.year, exportId: job.id }, job.format);
}

/** Everything the file says besides the rows: agency, legend lists, metadata. */
export function traineeFileContext(db: Db, job: ExportJob & { agencyId: number }, generatedAt: Date): TraineeFileContext {
  const agency = db.select().from(agencies).where(eq(agencies.id, job.agencyId)).get()!;
  return {
    exportId: job.id,
    agencyCode: agency.code,
    agencyName: agency.name,
    year: job.year,
    trainingTypes: job.trainingTypes,
    generatedAt,
    categories: activeCodes(db, "categories"),
    contractTypes: activeCodes(db, "contractTypes"),
    trainingTypeList: activeCodes(db, "trainingTypes"),
  };
}

const TRAINEE_ROWS_SQL = `${ENROLLMENT_SQL}
  WHERE e.agency_id = $agency AND e.year = $year AND p.training_type IN (SELECT value FROM json_each($types))`;

/** How many rows the export of a job has. */
export function countTraineeRows(sqlite: Database, job: { agencyId: number; year: number; trainingTypes: string[] }): number {
  return (
    sqlite
      .query(`SELECT count(*) AS n FROM (${TRAINEE_ROWS_SQL})`)
      .get({ agency: job.agencyId, year: job.year, types: JSON.stringify(job.trainingTypes) }) as { n: number }
  ).n;
}

/** The rows of an export, streamed from SQLite in file order. */
export function* traineeRows(
  sqlite: Database,
  job: { agencyId: number; year: number; trainingTypes: string[] },
): Generator<TraineeRow> {
  const statement = sqlite.query(`${TRAINEE_ROWS_SQL} ORDER BY p.code, c.code, pa.surname, pa.name, pa.codice_fiscale`);
  for (const raw of statement.iterate({ agency: job.agencyId, year: job.year, types: JSON.stringify(job.trainingTypes) })) {
    const e = toEnrollment(raw);
    yield { ...e, version: currentVersion(e) };
  }
}

/** Deletes files older than the retention period and marks their bookings expired. */
export function expireOldExports(db: Db, clock: Clock, config: Pick<Config, "DATA_DIR" | "FILE_RETENTION_DAYS">): number {
  const retentionDays = config.FILE_RETENTION_DAYS;
  const cutoff = new Date(clock.now().getTime() - retentionDays * 86_400_000);
  const old = db
    .select({ id: exportJobs.id, filePath: exportJobs.filePath })
    .from(exportJobs)
    .where(and(eq(exportJobs.status, "ready"), lt(exportJobs.finishedAt, cutoff)))
    .all();
  for (const job of old) {
    if (job.filePath) rmSync(dataFile(config, job.filePath), { force: true });
    db.update(exportJobs).set({ status: "expired", filePath: null }).where(eq(exportJobs.id, job.id)).run();
  }
  return old.length;
}
