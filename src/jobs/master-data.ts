import { mkdirSync } from "node:fs";
import { eq } from "drizzle-orm";
import { dataPaths } from "../config.ts";
import { masterDataJobs } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { dataFile, removeQuietly, storedName } from "../services/data-files.ts";
import type { MasterWorkerInput, MasterWorkerResult } from "./master-data-worker.ts";
import { PARSE_LIMITS } from "./parse-runner.ts";
import { runWorker } from "./worker-runner.ts";
import { uploadBudgetMs } from "./uploads.ts";
import type { Db } from "../db/client.ts";
import { applyMasterData, type MasterEvaluator } from "../services/master-data.ts";
import { completeRead, drainQueue, recordProgress, type Claim, type QueueKind } from "./queue.ts";

const jobOf = (deps: Deps, claim: Claim) => deps.db.select().from(masterDataJobs).where(eq(masterDataJobs.id, claim.id)).get()!;

/** The fund's master-data loads: one at a time, in upload order. */
export const masterDataQueue: QueueKind = {
  table: "master_data_jobs",
  serial: "queue",
  budgetMs: (deps, claim) => uploadBudgetMs(deps, jobOf(deps, claim).fileSize),
  run: runMasterData,
  // The fund sees the failure on its page; there is no agency to tell.
  onFailed: () => {},
};

/** Runs every due master-data load, one at a time in upload order. */
export function drainMasterData(deps: Deps): Promise<void> {
  return drainQueue(deps, masterDataQueue);
}

async function runMasterData(deps: Deps, claim: Claim, signal: AbortSignal): Promise<void> {
  const { config, clock, log, db } = deps;
  const job = jobOf(deps, claim);
  const outcomeName = storedName("outcomes", `anagrafiche-${job.id}-${claim.attempt}-esito.${job.fileFormat === "csv" ? "csv" : "xlsx"}`);
  const outcomePath = dataFile(config, outcomeName);
  mkdirSync(dataPaths(config).outcomes, { recursive: true });
  try {
    const result = await runWorker<MasterWorkerInput, MasterWorkerResult>(
      "master-data-worker",
      {
        databasePath: dataPaths(config).database,
        jobId: job.id,
        attempt: claim.attempt,
        uploadPath: dataFile(config, job.filePath),
        outcomePath,
        outcomeName,
        now: clock.now().toISOString(),
        limits: PARSE_LIMITS.full,
      },
      (done, total) => recordProgress(db, "master_data_jobs", claim, done, total),
      signal,
    );
    if (!result.applied) removeQuietly(outcomePath);
    log.info("master data loaded", { job: job.id, ...result });
  } catch (error) {
    // The outcome of a job that did finish is kept: its row names it.
    if (jobOf(deps, claim).outcomePath !== outcomeName) removeQuietly(outcomePath);
    throw error;
  }
}

/**
 * Closes the load and applies its rows in one transaction that first checks the job is
 * still this runner's; false when it was not.
 */
export function finishMasterData(db: Db, now: Date, claim: Claim, userId: number, evaluator: MasterEvaluator, outcomeName: string): boolean {
  const counts = evaluator.counts();
  return db.$client
    .transaction(() => {
      const owned = completeRead(db, "master_data_jobs", claim, now, counts, outcomeName);
      if (owned) applyMasterData(db.$client, { id: claim.id, userId }, evaluator, now.getTime());
      return owned;
    })
    .immediate();
}
