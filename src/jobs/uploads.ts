import { eq } from "drizzle-orm";
import { uploadDoneMail, uploadFailedMail } from "../mail/notices.ts";
import type { Db } from "../db/client.ts";
import { uploadJobs } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { queueMail } from "../mail/outbox.ts";
import { formatDateTime } from "../format.ts";
import type { Clock } from "../services/clock.ts";
import { applyUploadRows, type ApplyPlan, type UploadJob } from "../services/uploads.ts";
import { agencyRecipients } from "../services/notifications.ts";
import type { UploadWorkerResult } from "./upload-worker.ts";
import { runFileWorker } from "./file-jobs.ts";
import { completeRead, drainQueue, type Claim, type QueueKind } from "./queue.ts";

const jobOf = (db: Db, claim: Claim) => db.select().from(uploadJobs).where(eq(uploadJobs.id, claim.id)).get()!;

const placementUrl = (config: Deps["config"]) => `${config.BASE_URL}/placement/import-massivo`;

export type UploadEnd =
  | { counts: { total: number; ok: number; ko: number; unchanged: number }; reasons: { reason: string; rows: number }[] }
  | { reason: string };

/**
 * The one notice of an upload's end, read or not, for the agency's people (SPEC §9). Queued
 * in the transaction that ends the job, whichever thread ends it.
 */
export function queueUploadNotice(db: Db, clock: Clock, job: UploadJob, url: string, end: UploadEnd): void {
  const input = { to: agencyRecipients(db, job.agencyId, null), uploadId: job.id, year: job.year, uploadedAt: formatDateTime(job.createdAt), placementUrl: url };
  queueMail(db, clock, "reason" in end ? uploadFailedMail({ ...input, reason: end.reason }) : uploadDoneMail({ ...input, ...end }));
}

/** The time an uploaded file may take: a minute, and a minute more per megabyte. */
export const uploadBudgetMs = (deps: Deps, fileSize: number) => deps.config.JOB_TIMEOUT_SECONDS * 1000 * (1 + fileSize / 1024 / 1024);

/** Uploads: an agency's one at a time, in upload order, beside other agencies' uploads. */
export const uploadQueue: QueueKind = {
  table: "import_jobs",
  serial: "agency",
  budgetMs: (deps, claim) => uploadBudgetMs(deps, jobOf(deps.db, claim).fileSize),
  run: runUpload,
  onFailed: (deps, claim, reason) => queueUploadNotice(deps.db, deps.clock, jobOf(deps.db, claim), placementUrl(deps.config), { reason }),
};

/** Runs every due upload; an agency's uploads one at a time, in upload order. */
export function drainUploads(deps: Deps): Promise<void> {
  return drainQueue(deps, uploadQueue);
}

async function runUpload(deps: Deps, claim: Claim, signal: AbortSignal): Promise<void> {
  const job = jobOf(deps.db, claim);
  const started = performance.now();
  const result = await runFileWorker<{ placementUrl: string }, UploadWorkerResult>(deps, claim, signal, {
    worker: "upload-worker",
    table: "import_jobs",
    job,
    outcomePrefix: "",
    extra: { placementUrl: placementUrl(deps.config) },
    recordedOutcome: () => jobOf(deps.db, claim).outcomePath,
  });
  deps.log.info("import finished", { job: job.id, ...result, ms: Math.round(performance.now() - started) });
}

/**
 * Closes the job, applies its rows and queues its notice in one transaction that first
 * checks the job is still this runner's: "lost" when it was not, "stale" when an enrollment
 * changed after its row was judged, so that the rows are judged again. The transaction
 * commits once `written` says the outcome file is in place (another thread writes it
 * meanwhile), "withdrawn" when it is not: nothing is written unless the result is "done".
 */
export async function finishUpload(
  db: Db,
  clock: Clock,
  claim: Claim,
  userId: number,
  plan: ApplyPlan,
  outcomeName: string,
  notify: () => void,
  written: () => Promise<boolean>,
): Promise<"done" | "stale" | "lost" | "withdrawn"> {
  const sqlite = db.$client;
  sqlite.exec("BEGIN IMMEDIATE");
  let commit = false;
  try {
    const now = clock.now();
    if (!completeRead(db, "import_jobs", claim, now, plan.counts, outcomeName)) return "lost";
    db.update(uploadJobs).set({ topReasons: plan.reasons }).where(eq(uploadJobs.id, claim.id)).run();
    if (!(await applyUploadRows(sqlite, { id: claim.id, userId }, plan.parts, now.getTime()))) return "stale";
    notify();
    if (!(await written())) return "withdrawn";
    sqlite.exec("COMMIT");
    commit = true;
    return "done";
  } finally {
    // A failed COMMIT may leave the transaction open: it is rolled back, not left holding the lock.
    if (!commit && sqlite.inTransaction) sqlite.exec("ROLLBACK");
  }
}
