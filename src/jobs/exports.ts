import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { exportFailedMail, exportReadyMail } from "../../views/emails/export.ts";
import { dataPaths } from "../config.ts";
import { exportJobs } from "../db/schema.ts";
import type { Deps } from "../http.ts";
import { queueMail } from "../mail/outbox.ts";
import { formatDateTime } from "../services/campaigns.ts";
import { agencyRecipients } from "../services/notifications.ts";
import type { ExportWorkerInput, ExportWorkerResult } from "../sheets/export-worker.ts";
import { runSheetWorker } from "../sheets/worker-runner.ts";
import { completeJob, drainQueue, recordProgress, runClaimed, type Claim } from "./queue.ts";
import { dataFile, removeQuietly, storedName } from "../services/data-files.ts";
import type { Job } from "./registry.ts";

export const exportJob: Job = {
  name: "exports",
  pattern: (config) => config.QUEUE_CRON,
  run: drainExports,
};

/** Runs every export that is due, one after the other. */
export function drainExports(deps: Deps): Promise<void> {
  return drainQueue(deps, "export_jobs", {}, (claim) => runExport(deps, claim));
}

function runExport(deps: Deps, claim: Claim): Promise<void> {
  const { db, clock, config, log } = deps;
  const job = db.select().from(exportJobs).where(eq(exportJobs.id, claim.id)).get()!;
  const dir = dataPaths(config).exports;
  const partPath = join(dir, `${job.id}-${claim.attempt}.part`);
  const finalName = storedName("exports", `${job.id}-${crypto.randomUUID()}.${job.format}`);
  const finalPath = dataFile(config, finalName);
  const mailInput = {
    to: agencyRecipients(db, job.agencyId, job.extraEmail),
    bookingId: job.id,
    year: job.year,
    trainingTypes: job.trainingTypes,
    requestedAt: formatDateTime(job.createdAt),
    placementUrl: `${config.BASE_URL}/placement/import-massivo`,
  };
  const work = async () => {
    const started = performance.now();
    try {
      mkdirSync(dir, { recursive: true });
      const result = await runSheetWorker<ExportWorkerInput, ExportWorkerResult>(
        "export-worker",
        { databasePath: dataPaths(config).database, jobId: job.id, outputPath: partPath, generatedAt: clock.now().toISOString() },
        (done, total) => recordProgress(db, "export_jobs", claim, done, total),
      );
      renameSync(partPath, finalPath);
      const completed = db.transaction(() => {
        const owned = completeJob(db, "export_jobs", claim, clock.now(), "ready", {
          file_path: finalName,
          file_size: result.bytes,
          row_count: result.rows,
          progress_done: result.rows,
          progress_total: result.rows,
          error: null,
        });
        if (owned) {
          queueMail(db, clock, exportReadyMail({ ...mailInput, rows: result.rows, retentionDays: config.FILE_RETENTION_DAYS }));
        }
        return owned;
      });
      if (!completed) removeQuietly(finalPath);
      log.info("export finished", { job: job.id, rows: result.rows, bytes: result.bytes, ms: Math.round(performance.now() - started), stale: !completed || undefined });
    } catch (error) {
      removeQuietly(partPath);
      throw error;
    }
  };
  return runClaimed(deps, "export_jobs", claim, work, (reason) =>
    queueMail(db, clock, exportFailedMail({ ...mailInput, reason })),
  );
}
