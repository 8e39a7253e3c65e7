import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { dataPaths } from "../config.ts";
import { masterDataJobs } from "../db/schema.ts";
import type { Deps } from "../http.ts";
import type { MasterWorkerInput, MasterWorkerResult } from "../sheets/master-worker.ts";
import { PARSE_LIMITS } from "../sheets/upload-runner.ts";
import { runSheetWorker } from "../sheets/worker-runner.ts";
import { dataFile, removeQuietly, storedName } from "../services/data-files.ts";
import { drainQueue, recordProgress, runClaimed, type Claim } from "./queue.ts";
import type { Job } from "./registry.ts";

export const masterDataJob: Job = {
  name: "master-data",
  pattern: (config) => config.QUEUE_CRON,
  run: drainMasterData,
};

/** Runs every due master-data load, one at a time in upload order. */
export function drainMasterData(deps: Deps): Promise<void> {
  return drainQueue(deps, "master_data_jobs", {}, (claim) => runMasterData(deps, claim));
}

function runMasterData(deps: Deps, claim: Claim): Promise<void> {
  const { db, clock, config, log } = deps;
  const job = db.select().from(masterDataJobs).where(eq(masterDataJobs.id, claim.id)).get()!;
  const dir = dataPaths(config).outcomes;
  const outcomeName = storedName("outcomes", `anagrafiche-${job.id}-${claim.attempt}-esito.${job.fileFormat === "csv" ? "csv" : "xlsx"}`);
  const outcomePath = dataFile(config, outcomeName);
  const work = async () => {
    mkdirSync(dir, { recursive: true });
    try {
      const result = await runSheetWorker<MasterWorkerInput, MasterWorkerResult>(
        "master-worker",
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
      );
      if (!result.applied) removeQuietly(outcomePath);
      log.info("master data loaded", { job: job.id, ...result });
    } catch (error) {
      removeQuietly(outcomePath);
      throw error;
    }
  };
  // The fund sees the failure on its page; there is no agency to tell.
  return runClaimed(deps, "master_data_jobs", claim, work, () => {});
}
