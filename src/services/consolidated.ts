import { inArray } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, exportJobs } from "../db/schema.ts";
import { formatDateTime } from "../format.ts";
import type { ConsolidatedContext, ConsolidatedRow } from "../sheets/consolidated-file.ts";
import type { User } from "./auth.ts";
import { getCampaign } from "./campaigns.ts";
import type { Clock } from "./clock.ts";
import { sourceText } from "./declarations.ts";
import { enrollmentSql, toEnrollment, type Enrollment } from "./enrollments.ts";
import { countTraineeRows, queueExport } from "./exports.ts";
import { belowMinimum, COUNTS_AS_PLACED, minimumsOf } from "./minimums.ts";
import { activeCodes } from "./reference-lists.ts";

/*
 * "Dati acquisiti" (SPEC §13): the fund's file of every agency's enrollments of a year, booked
 * and written like an agency's download, in the same queue, as a job of no agency.
 */

export type ConsolidatedRequest = { year: number; agencyIds: number[]; trainingTypes: string[]; extraEmail: string | null; format: "xlsx" | "csv" };
export type ConsolidatedErrors = Partial<Record<"year" | "agencies" | "trainingTypes" | "form", string>>;

type Job = Pick<typeof exportJobs.$inferSelect, "year" | "trainingTypes" | "agencyIds">;

/** Queues the fund's file, at any time of the campaign, or says what is wrong. */
export function bookConsolidated(
  db: Db,
  clock: Clock,
  user: User,
  input: ConsolidatedRequest,
): { ok: true; id: number } | { ok: false; errors: ConsolidatedErrors } {
  if (user.role !== "fund_operator") return { ok: false, errors: { form: "I dati acquisiti sono riservati al Fondo." } };
  const campaign = getCampaign(db, input.year);
  if (!campaign) return { ok: false, errors: { year: `Non esiste una campagna per l'anno ${input.year}: scegli un anno dell'elenco.` } };
  if (campaign.anonymisedAt) {
    return { ok: false, errors: { year: `I dati personali della campagna ${input.year} sono stati anonimizzati: il file non si può più preparare. I conteggi restano nel cruscotto e nella relazione di chiusura.` } };
  }
  const known = new Set(activeCodes(db, "trainingTypes").map((t) => t.code));
  if (input.trainingTypes.length === 0) return { ok: false, errors: { trainingTypes: "Scegli almeno una tipologia formativa." } };
  const unknown = input.trainingTypes.filter((t) => !known.has(t));
  if (unknown.length) return { ok: false, errors: { trainingTypes: `Tipologia formativa sconosciuta: ${unknown.join(", ")}.` } };
  const agencyIds = [...new Set(input.agencyIds)].sort((a, b) => a - b);
  if (agencyIds.length) {
    const found = db.select({ id: agencies.id }).from(agencies).where(inArray(agencies.id, agencyIds)).all();
    if (found.length !== agencyIds.length) return { ok: false, errors: { agencies: "Una delle agenzie scelte non esiste più: ricarica la pagina e scegli di nuovo." } };
  }
  return { ok: true, id: queueExport(db, clock, { agencyId: null, agencyIds, userId: user.id, kind: "consolidated" }, input) };
}

const CONSOLIDATED_SQL = `${enrollmentSql({
  columns: `ag.code AS agencyCode, ag.name AS agencyName, e.project_id AS projectId, ${COUNTS_AS_PLACED} AS countsAsPlaced,
            e.updated_at AS changedAt, u.name AS changedBy, e.updated_by_import_job_id AS changedByUpload,
            (SELECT h.source FROM enrollment_changes h WHERE h.enrollment_id = e.id AND h.revision = e.revision LIMIT 1) AS changeSource,
            (SELECT coalesce(h.import_job_id, h.master_data_job_id) FROM enrollment_changes h
             WHERE h.enrollment_id = e.id AND h.revision = e.revision LIMIT 1) AS changeJob`,
  joins: "JOIN agencies ag ON ag.id = e.agency_id LEFT JOIN users u ON u.id = e.updated_by_user_id",
})}
  WHERE e.year = $year AND p.training_type IN (SELECT value FROM json_each($types))
    AND ($agencies = '[]' OR e.agency_id IN (SELECT value FROM json_each($agencies)))`;

const paramsOf = (job: Job) => ({ year: job.year, types: JSON.stringify(job.trainingTypes), agencies: JSON.stringify(job.agencyIds ?? []) });

/**
 * At most as many rows as the fund's files can have: every enrollment ever stored. Read in
 * a step of the index, for the job's time budget on the scheduler's thread, where counting
 * a year's enrollments for the file took 0.4–0.8 s at 1,000,000 and held up every page.
 */
export function fundFileRowBound(db: Db): number {
  return (db.$client.query("SELECT coalesce(max(id), 0) AS n FROM enrollments").get() as { n: number }).n;
}

/** How many rows an export's file has: an agency's file, the fund's file, or the closing report (its agencies). */
export function countExportRows(db: Db, job: Job & { agencyId: number | null; kind: "trainees" | "consolidated" | "report" }): number {
  if (job.kind === "report") return db.select({ id: agencies.id }).from(agencies).all().length;
  if (job.agencyId !== null) return countTraineeRows(db.$client, { ...job, agencyId: job.agencyId });
  return (db.$client.query(`SELECT count(*) AS n FROM (${CONSOLIDATED_SQL})`).get(paramsOf(job)) as { n: number }).n;
}

type Raw = Enrollment & {
  agencyCode: string;
  agencyName: string;
  projectId: number;
  countsAsPlaced: number;
  changedAt: number | null;
  changedBy: string | null;
  changedByUpload: number | null;
  changeSource: "upload" | "edit" | "master" | null;
  changeJob: number | null;
};

/** The rows of the fund's file, streamed from SQLite in file order (agency, project, class, trainee). */
export function* consolidatedRows(db: Db, job: Job): Generator<ConsolidatedRow> {
  const sqlite = db.$client;
  const minimums = minimumsOf(db, job.year);
  // Whether each project misses its minimum: one aggregate, before the rows stream.
  const below = new Map<number, boolean>();
  const projects = sqlite
    .query(
      `SELECT p.id, p.training_type AS trainingType, count(*) AS n, sum(${COUNTS_AS_PLACED}) AS placed
       FROM enrollments e JOIN projects p ON p.id = e.project_id WHERE e.year = ? GROUP BY p.id`,
    )
    .all(job.year) as { id: number; trainingType: string; n: number; placed: number }[];
  for (const p of projects) below.set(p.id, belowMinimum(p.placed, p.n, minimums.get(p.trainingType)));
  const statement = sqlite.query(`${CONSOLIDATED_SQL} ORDER BY ag.code, p.code, c.code, pa.surname, pa.name, pa.codice_fiscale`);
  for (const raw of statement.iterate(paramsOf(job)) as IterableIterator<Raw>) {
    const e = toEnrollment<Raw>(raw);
    const minimum = minimums.get(e.trainingType) ?? null;
    const through =
      e.changeSource !== null ? sourceText(e.changeSource, e.changeJob) : e.changedByUpload !== null ? sourceText("upload", e.changedByUpload) : null;
    yield {
      ...e,
      countsAsPlaced: e.countsAsPlaced === 1,
      minimum,
      projectBelow: minimum === null ? null : (below.get(e.projectId) ?? false),
      // A time with nobody and nothing behind it (rows as first loaded) is no change.
      changedAt: e.changedAt === null || (through === null && e.changedBy === null) ? null : new Date(e.changedAt),
      changedThrough: through,
    };
  }
}

/** Everything the fund's file says besides the rows. */
export function consolidatedContext(db: Db, job: Job, generatedAt: Date): ConsolidatedContext {
  const names = job.agencyIds?.length
    ? db.select({ code: agencies.code }).from(agencies).where(inArray(agencies.id, job.agencyIds)).orderBy(agencies.code).all().map((a) => a.code).join(", ")
    : "tutte";
  return {
    year: job.year,
    generatedAt: formatDateTime(generatedAt),
    agencies: names,
    trainingTypes: activeCodes(db, "trainingTypes"),
    categories: activeCodes(db, "categories"),
    contractTypes: activeCodes(db, "contractTypes"),
    formatInstant: (at) => formatDateTime(at),
  };
}
