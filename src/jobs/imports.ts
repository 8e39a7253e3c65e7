import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { importFailedMail } from "../../views/emails/import.ts";
import { dataPaths } from "../config.ts";
import { importJobs } from "../db/schema.ts";
import type { Deps } from "../http.ts";
import { queueMail } from "../mail/outbox.ts";
import { formatDateTime } from "../services/campaigns.ts";
import { applyUploadRows, type RowEvaluator } from "../services/imports.ts";
import { agencyRecipients } from "../services/notifications.ts";
import type { Clock } from "../services/clock.ts";
import type { Db } from "../db/client.ts";
import type { ImportWorkerInput, ImportWorkerResult } from "../sheets/import-worker.ts";
import { PARSE_LIMITS } from "../sheets/upload-runner.ts";
import { runSheetWorker } from "../sheets/worker-runner.ts";
import { completeJob, drainQueue, recordProgress, runClaimed, type Claim } from "./queue.ts";
import type { Job } from "./registry.ts";
import { dataFile, removeQuietly, storedName } from "../services/data-files.ts";

export const importJob: Job = {
  name: "imports",
  pattern: (config) => config.QUEUE_CRON,
  run: drainImports,
};

/** Runs every due upload; an agency's uploads one at a time, in upload order. */
export function drainImports(deps: Deps): Promise<void> {
  return drainQueue(deps, "import_jobs", { onePerAgency: true }, (claim) => runImport(deps, claim));
}

function runImport(deps: Deps, claim: Claim): Promise<void> {
  const { db, clock, config, log } = deps;
  const job = db.select().from(importJobs).where(eq(importJobs.id, claim.id)).get()!;
  const dir = dataPaths(config).outcomes;
  const outcomeName = storedName("outcomes", `${job.id}-${claim.attempt}-esito.${job.fileFormat === "csv" ? "csv" : "xlsx"}`);
  const outcomePath = dataFile(config, outcomeName);
  const mailInput = {
    to: agencyRecipients(db, job.agencyId, null),
    uploadId: job.id,
    year: job.year,
    uploadedAt: formatDateTime(job.createdAt),
    placementUrl: `${config.BASE_URL}/placement/import-massivo`,
  };
  const work = async () => {
    const started = performance.now();
    mkdirSync(dir, { recursive: true });
    try {
      const result = await runSheetWorker<ImportWorkerInput, ImportWorkerResult>(
        "import-worker",
        {
          databasePath: dataPaths(config).database,
          jobId: job.id,
          attempt: claim.attempt,
          uploadPath: dataFile(config, job.filePath),
          outcomePath,
          outcomeName,
          now: clock.now().toISOString(),
          placementUrl: mailInput.placementUrl,
          limits: PARSE_LIMITS.full,
        },
        (done, total) => recordProgress(db, "import_jobs", claim, done, total),
      );
      if (!result.applied) removeQuietly(outcomePath);
      log.info("import finished", { job: job.id, ...result, ms: Math.round(performance.now() - started) });
    } catch (error) {
      removeQuietly(outcomePath);
      throw error;
    }
  };
  return runClaimed(deps, "import_jobs", claim, work, (reason) => queueMail(db, clock, importFailedMail({ ...mailInput, reason })));
}

const STALE = new Error("an enrollment changed while the upload was judged");

/**
 * Closes the job, applies its rows and queues its notice in one transaction that first
 * checks the job is still this runner's: "lost" when it was not, "stale" (nothing written)
 * when an enrollment changed after its row was judged, so that the rows are judged again.
 */
export function finishImport(
  db: Db,
  clock: Clock,
  claim: Claim,
  userId: number,
  evaluator: RowEvaluator,
  outcomeName: string,
  notify: () => void,
): "done" | "stale" | "lost" {
  const counts = evaluator.counts();
  try {
    return db.$client.transaction(() => {
      const now = clock.now();
      const owned = completeJob(db, "import_jobs", claim, now, counts.ko ? "done_with_errors" : "done", {
        rows_total: counts.total,
        rows_ok: counts.ok,
        rows_ko: counts.ko,
        rows_unchanged: counts.unchanged,
        outcome_path: outcomeName,
        progress_done: counts.total,
        progress_total: counts.total,
        error: null,
      });
      if (!owned) return "lost" as const;
      if (!applyUploadRows(db.$client, { id: claim.id, userId }, evaluator.rows, now.getTime())) throw STALE;
      notify();
      return "done" as const;
    })();
  } catch (error) {
    if (error === STALE) return "stale";
    throw error;
  }
}
