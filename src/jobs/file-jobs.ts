// What uploads and master-data loads share: a worker reads the uploaded file, writes an
// outcome file beside it and closes the job; the scheduler's side keeps the outcome only
// when the job names it.
import { mkdirSync, renameSync } from "node:fs";
import { dataPaths } from "../config.ts";
import type { Deps } from "../deps.ts";
import { dataFile, removeQuietly, storedName } from "../services/data-files.ts";
import { writeOutcomeFile, type OutcomeLayout, type OutcomeRow } from "../sheets/outcome-file.ts";
import { checkedWriter, sealer, type Key, type KeyRing } from "../services/sealed-files.ts";
import { PARSE_LIMITS, type ChildLimits } from "./parse-runner.ts";
import { progressRecorder, type Claim, type QueueTable } from "./queue.ts";
import type { WorkerName } from "./worker-runner.ts";

/** What every file worker is given. */
export type FileWorkerInput = {
  databasePath: string;
  jobId: number;
  attempt: number;
  /** The uploaded file, and where to write the outcome file; its name as the job row keeps it. */
  uploadPath: string;
  outcomePath: string;
  outcomeName: string;
  now: string;
  limits: ChildLimits;
  /** The data keys: the upload is read with them, the outcome sealed with the first. */
  keys: KeyRing;
};

type FileJob = { id: number; filePath: string; fileFormat: string };

/**
 * Runs a file job's worker. Its outcome file is removed when the job was not closed by this
 * run, unless the job's row names it (a job that did finish keeps its outcome).
 */
export async function runFileWorker<Extra, Result extends { applied: boolean }>(
  deps: Deps,
  claim: Claim,
  signal: AbortSignal,
  spec: { worker: WorkerName; table: QueueTable; job: FileJob; outcomePrefix: string; extra: Extra; recordedOutcome: () => string | null },
): Promise<Result> {
  const { config, clock, db } = deps;
  const { job } = spec;
  const outcomeName = storedName("outcomes", `${spec.outcomePrefix}${job.id}-${claim.attempt}-esito.${outcomeFormat(job)}`);
  const outcomePath = dataFile(config, outcomeName);
  mkdirSync(dataPaths(config).outcomes, { recursive: true });
  try {
    const input: FileWorkerInput = {
      databasePath: dataPaths(config).database,
      jobId: job.id,
      attempt: claim.attempt,
      uploadPath: dataFile(config, job.filePath),
      outcomePath,
      outcomeName,
      now: clock.now().toISOString(),
      limits: PARSE_LIMITS.full,
      keys: deps.keys,
    };
    const result = await deps.workers.run<FileWorkerInput & Extra, Result>(
      spec.worker,
      { ...input, ...spec.extra },
      progressRecorder(db, spec.table, claim, deps.log),
      signal,
    );
    if (!result.applied) removeQuietly(outcomePath);
    return result;
  } catch (error) {
    if (spec.recordedOutcome() !== outcomeName) removeQuietly(outcomePath);
    throw error;
  }
}

/** The outcome file is in the format of the uploaded one. */
const outcomeFormat = (job: { fileFormat: string }) => (job.fileFormat === "csv" ? "csv" : "xlsx");

/** Writes the outcome file, sealed, whole or not at all: a reader never sees half of one. */
export async function writeOutcome<R extends OutcomeRow>(
  path: string,
  key: Key,
  job: { fileFormat: string },
  layout: OutcomeLayout<R>,
  rows: readonly R[],
): Promise<void> {
  const partPath = `${path}.part`;
  try {
    const file = checkedWriter(partPath);
    const sealed = sealer(key, (chunk) => file.write(chunk));
    // The garbage of each row's cells and text, collected as the file is written rather than
    // once the heap has doubled: the job's peak in bench:import went from 410 to 375 MB.
    let sinceCollect = 0;
    await writeOutcomeFile(outcomeFormat(job), layout, rows, (chunk) => {
      sealed.write(chunk);
      sinceCollect += chunk.length;
      if (sinceCollect >= 256 * 1024) {
        sinceCollect = 0;
        Bun.gc(false);
      }
    });
    sealed.end();
    await file.end();
    renameSync(partPath, path);
  } finally {
    removeQuietly(partPath);
  }
}

/** The scheduler's time when the job started, running on with the worker's own clock. */
export function workerClock(input: { now: string }) {
  const started = performance.now();
  return { now: () => new Date(Date.parse(input.now) + (performance.now() - started)) };
}

export const missingColumns = (missing: readonly { header: string }[]) => `Mancano le colonne: ${missing.map((c) => c.header).join(", ")}.`;
