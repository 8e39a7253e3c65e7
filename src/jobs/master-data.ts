import { eq } from "drizzle-orm";
import { masterDataJobs } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import type { MasterWorkerResult } from "./master-data-worker.ts";
import { runFileWorker } from "./file-jobs.ts";
import { uploadBudgetMs } from "./uploads.ts";
import type { Db } from "../db/client.ts";
import { applyMasterData, type MasterEvaluator } from "../services/master-data.ts";
import { completeRead, drainQueue, type Claim, type QueueKind } from "./queue.ts";

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
  const job = jobOf(deps, claim);
  const result = await runFileWorker<object, MasterWorkerResult>(deps, claim, signal, {
    worker: "master-data-worker",
    table: "master_data_jobs",
    job,
    outcomePrefix: "anagrafiche-",
    extra: {},
    recordedOutcome: () => jobOf(deps, claim).outcomePath,
  });
  deps.log.info("master data loaded", { job: job.id, ...result });
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
