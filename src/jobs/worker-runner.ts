import { isCompiled } from "../config.ts";
import { lowerPriority } from "./priority.ts";

/** Every worker, each a separate entry point of the executable (src/build.ts). */
export const WORKER_NAMES = ["export-worker", "upload-worker", "master-data-worker", "upload-check-worker"] as const;
export type WorkerName = (typeof WORKER_NAMES)[number];

export type WorkerMessage<Result> =
  | { type: "progress"; done: number; total: number }
  | { type: "done"; result: Result }
  | { type: "error"; message: string; final: boolean; forUser: boolean };

/** An error whose message is for the user; `final` when trying again cannot help. */
export class JobError extends Error {
  constructor(
    message: string,
    readonly final: boolean,
  ) {
    super(message);
  }
}

// Inside the executable every entry point sits at its path below src/ (see src/build.ts);
// from source the workers are next to this file.
const workerUrl = (name: WorkerName) =>
  isCompiled ? `./jobs/${name}.ts` : new URL(`./${name}.ts`, import.meta.url).href;

// A worker told to stop has this long to stop its child and itself; then it is terminated.
const STOP_GRACE_MS = 10_000;

/**
 * Runs spreadsheet work in a Worker, so that the server keeps answering meanwhile. When
 * `signal` aborts, the worker is asked to stop (it stops its reading child and leaves its
 * work undone), and is terminated if it does not; the promise rejects with the reason.
 */
export function runWorker<Input, Result>(
  name: WorkerName,
  input: Input,
  onProgress: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<Result> {
  const worker = new Worker(workerUrl(name));
  return new Promise((resolve, reject) => {
    let settled = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(grace);
      signal?.removeEventListener("abort", onAbort);
      worker.terminate();
      settle();
    };
    const onAbort = () => {
      worker.postMessage({ stop: true });
      grace = setTimeout(() => finish(() => reject(signal!.reason)), STOP_GRACE_MS);
    };
    worker.onmessage = (event: MessageEvent<WorkerMessage<Result>>) => {
      const message = event.data;
      if (message.type === "progress") onProgress(message.done, message.total);
      // Work done stays done, even when the stop came while it was finishing.
      else if (message.type === "done") finish(() => resolve(message.result));
      else if (signal?.aborted) finish(() => reject(signal.reason));
      else finish(() => reject(message.forUser ? new JobError(message.message, message.final) : new Error(message.message)));
    };
    worker.onerror = (event) => finish(() => reject(new Error(event.message || `${name} failed`)));
    // A worker that ends without a word must not leave its job waiting for ever.
    worker.addEventListener("close", () => finish(() => reject(new Error(`${name} ended without finishing`))));
    if (signal?.aborted) return finish(() => reject(signal.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.postMessage(input);
  });
}

/** Thrown inside a worker whose work was stopped. */
export class WorkStopped extends Error {}

/**
 * The worker side: runs `work` on the first message and reports how it went. A later
 * `{ stop: true }` aborts the signal `work` was given.
 */
export function serveWorker<Input, Result>(
  work: (input: Input, progress: (done: number, total: number) => void, signal: AbortSignal) => Promise<Result>,
): void {
  const scope = self as unknown as Worker;
  lowerPriority();
  const post = (message: WorkerMessage<Result>) => scope.postMessage(message);
  const stop = new AbortController();
  let started = false;
  scope.onmessage = async (event: MessageEvent<Input | { stop: true }>) => {
    if ((event.data as { stop?: boolean }).stop === true) return stop.abort(new WorkStopped("stopped"));
    if (started) return;
    started = true;
    try {
      const result = await work(event.data as Input, (done, total) => post({ type: "progress", done, total }), stop.signal);
      post({ type: "done", result });
    } catch (error) {
      const final = error instanceof JobError && error.final;
      post({ type: "error", message: error instanceof Error ? error.message : String(error), final, forUser: error instanceof JobError });
    }
  };
}

