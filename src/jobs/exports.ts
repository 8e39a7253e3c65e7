import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { exportFailedMail, exportReadyMail } from "../../views/emails/export.ts";
import { dataPaths } from "../config.ts";
import { exportJobs } from "../db/schema.ts";
import type { Deps } from "../http.ts";
import { queueMail } from "../mail/outbox.ts";
import { formatDateTime } from "../services/campaigns.ts";
import { agencyRecipients } from "../services/notifications.ts";
import { runExportWorker } from "../sheets/export-runner.ts";
import { claimNext, completeJob, failAttempt, HEARTBEAT_MS, recordProgress, renewLease, type Claim } from "./queue.ts";
import type { Job } from "./registry.ts";

export const exportJob: Job = {
  name: "exports",
  pattern: (config) => config.QUEUE_CRON,
  run: drainExports,
};

/** Runs every export that is due, one after the other. */
export async function drainExports(deps: Deps): Promise<void> {
  for (let claim = claimNext(deps.db, "export_jobs", deps.clock.now()); claim; claim = claimNext(deps.db, "export_jobs", deps.clock.now())) {
    await runExport(deps, claim);
  }
}

/** Cleaning up must not hide the error being handled. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {}
}

async function runExport(deps: Deps, claim: Claim): Promise<void> {
  const { db, clock, config, log } = deps;
  const job = db.select().from(exportJobs).where(eq(exportJobs.id, claim.id)).get()!;
  const dir = dataPaths(config).exports;
  const partPath = join(dir, `${job.id}-${claim.attempt}.part`);
  const finalPath = join(dir, `${job.id}-${crypto.randomUUID()}.${job.format}`);
  const heartbeat = setInterval(() => renewLease(db, "export_jobs", claim, clock.now()), HEARTBEAT_MS);
  const started = performance.now();
  const mailInput = {
    to: agencyRecipients(db, job.agencyId, job.extraEmail),
    bookingId: job.id,
    year: job.year,
    trainingTypes: job.trainingTypes,
    requestedAt: formatDateTime(job.createdAt),
    placementUrl: `${config.BASE_URL}/placement`,
  };
  try {
    mkdirSync(dir, { recursive: true });
    const result = await runExportWorker(
      { databasePath: dataPaths(config).database, jobId: job.id, outputPath: partPath, generatedAt: clock.now().toISOString() },
      (done, total) => recordProgress(db, "export_jobs", claim, done, total),
    );
    renameSync(partPath, finalPath);
    const completed = db.transaction(() => {
      const owned = completeJob(db, "export_jobs", claim, clock.now(), "ready", {
        file_path: finalPath,
        file_size: result.bytes,
        row_count: result.rows,
        progress_done: result.rows,
        progress_total: result.rows,
        error: null,
      });
      if (owned) queueMail(db, clock, exportReadyMail({ ...mailInput, rows: result.rows, retentionDays: config.FILE_RETENTION_DAYS }));
      return owned;
    });
    if (!completed) removeQuietly(finalPath);
    log.info("export finished", { job: job.id, rows: result.rows, bytes: result.bytes, ms: Math.round(performance.now() - started), stale: !completed || undefined });
  } catch (error) {
    removeQuietly(partPath);
    const reason = error instanceof Error ? error.message : String(error);
    const outcome = db.transaction(() => {
      const what = failAttempt(db, "export_jobs", claim, clock.now(), reason);
      if (what === "failed") queueMail(db, clock, exportFailedMail({ ...mailInput, reason }));
      return what;
    });
    log.error("export failed", { job: job.id, attempt: claim.attempt, outcome, error: reason });
  } finally {
    clearInterval(heartbeat);
  }
}
