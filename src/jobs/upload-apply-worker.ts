// Applies an upload's judged rows in a thread of its own, started and kept by an upload worker
// (src/jobs/upload-worker.ts), which writes the outcome file meanwhile: the two took about as
// long as each other, one after the other (bench:import). The transaction commits only once
// the upload worker says the outcome file is in place, so that a job is never done without it.
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { uploadJobs } from "../db/schema.ts";
import type { ApplyPlan, PlanPart } from "../services/uploads.ts";
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
  counts: ApplyPlan["counts"];
  reasons: ApplyPlan["reasons"];
};
/** The plan's parts follow the request, each a PlanPart as JSON, then its end. */
export type ApplyPart = { type: "part"; json: string } | { type: "end" };
/** Whether the outcome file of the plan being applied is in place. */
export type ApplyVerdict = { type: "verdict"; written: boolean };
export type ApplyReply =
  | { type: "done"; result: Awaited<ReturnType<typeof finishUpload>>; ms: number }
  | { type: "error"; message: string };

/**
 * The parts of the plan being applied, as they come: each is parsed when the apply reaches
 * it, so that the thread holds one part as objects, not the whole plan.
 */
class Parts implements AsyncIterable<PlanPart> {
  private texts: string[] = [];
  private ended = false;
  private dropped = false;
  private wake: (() => void) | null = null;

  /**
   * What was not applied (a plan found stale, a job lost) is let go with the apply, and so
   * are the parts still on their way.
   */
  drop(): void {
    this.dropped = true;
    this.texts = [];
  }

  add(message: ApplyPart): void {
    if (message.type === "end") this.ended = true;
    else if (!this.dropped) this.texts.push(message.json);
    this.wake?.();
    this.wake = null;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<PlanPart> {
    for (;;) {
      const text = this.texts.shift();
      if (text !== undefined) yield JSON.parse(text) as PlanPart;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

const scope = self as unknown as Worker;
lowerPriority("background");
let parts: Parts | null = null;
let decide: ((written: boolean) => void) | null = null;
const post = (reply: ApplyReply) => scope.postMessage(reply);
scope.onmessage = (event: MessageEvent<ApplyRequest | ApplyPart | ApplyVerdict>) => {
  const message = event.data;
  if (message.type === "verdict") {
    decide?.(message.written);
    decide = null;
    return;
  }
  if (message.type !== "apply") return parts?.add(message);
  parts = new Parts();
  const verdict = new Promise<boolean>((resolve) => (decide = resolve));
  void apply(message, parts, verdict);
};

async function apply(request: ApplyRequest, parts: Parts, verdict: Promise<boolean>): Promise<void> {
  const started = performance.now();
  let ms = 0;
  // Waiting for the verdict is not part of the apply's own time.
  const written = () => {
    ms = performance.now() - started;
    return verdict;
  };
  try {
    const db = openDatabase(request.databasePath);
    try {
      const job = db.select().from(uploadJobs).where(eq(uploadJobs.id, request.jobId)).get();
      if (!job) throw new Error(`import job ${request.jobId} not found`);
      const clock = workerClock(request);
      const { counts, reasons } = request;
      const notify = () => queueUploadNotice(db, clock, job, request.placementUrl, { counts, reasons });
      const plan = { counts, reasons, parts };
      const result = await finishUpload(db, clock, { id: job.id, attempt: request.attempt }, job.userId, plan, request.outcomeName, notify, written);
      post({ type: "done", result, ms: ms || performance.now() - started });
    } finally {
      db.$client.close();
    }
  } catch (error) {
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  } finally {
    parts.drop();
  }
}
