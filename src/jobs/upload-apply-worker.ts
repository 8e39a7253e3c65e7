// Applies an upload's judged rows in a thread of its own, started and kept by an upload worker
// (src/jobs/upload-worker.ts), which writes the outcome file meanwhile: the two took about as
// long as each other, one after the other (bench:import). The transaction commits only once
// the upload worker says the outcome file is in place, so that a job is never done without it.
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { uploadJobs } from "../db/schema.ts";
import type { ApplyPlan } from "../services/uploads.ts";
import { workerClock } from "./file-jobs.ts";
import { lowerPriority } from "./priority.ts";
import { finishUpload, queueUploadNotice } from "./uploads.ts";

export type ApplyRequest = {
  type: "apply";
  databasePath: string;
  jobId: number;
  attempt: number;
  outcomeName: string;
  placementUrl: string;
  /** The upload worker's time now: the apply's time runs on from it. */
  now: string;
  /** The ApplyPlan as JSON. */
  plan: string;
};
/** Whether the outcome file of the plan being applied is in place. */
export type ApplyVerdict = { type: "verdict"; written: boolean };
export type ApplyReply =
  | { type: "done"; result: Awaited<ReturnType<typeof finishUpload>>; ms: number }
  | { type: "error"; message: string };

const scope = self as unknown as Worker;
lowerPriority();
let decide: ((written: boolean) => void) | null = null;
scope.onmessage = async (event: MessageEvent<ApplyRequest | ApplyVerdict>) => {
  const message = event.data;
  if (message.type === "verdict") {
    decide?.(message.written);
    decide = null;
    return;
  }
  const verdict = new Promise<boolean>((resolve) => (decide = resolve));
  const started = performance.now();
  let ms = 0;
  // Waiting for the verdict is not part of the apply's own time.
  const written = () => {
    ms = performance.now() - started;
    return verdict;
  };
  const post = (reply: ApplyReply) => scope.postMessage(reply);
  try {
    const db = openDatabase(message.databasePath);
    try {
      const job = db.select().from(uploadJobs).where(eq(uploadJobs.id, message.jobId)).get();
      if (!job) throw new Error(`import job ${message.jobId} not found`);
      const plan = JSON.parse(message.plan) as ApplyPlan;
      const clock = workerClock(message);
      const notify = () => queueUploadNotice(db, clock, job, message.placementUrl, { counts: plan.counts, reasons: plan.reasons });
      const result = await finishUpload(db, clock, { id: job.id, attempt: message.attempt }, job.userId, plan, message.outcomeName, notify, written);
      post({ type: "done", result, ms: ms || performance.now() - started });
    } finally {
      db.$client.close();
    }
  } catch (error) {
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
};
