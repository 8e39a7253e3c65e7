import { isCompiled } from "../config.ts";
import { lowerPriority } from "./priority.ts";

/**
 * Every worker, each a separate entry point of the executable (src/build.ts). The upload
 * worker starts the upload-apply worker itself.
 */
export const WORKER_NAMES = ["export-worker", "upload-worker", "master-data-worker", "upload-check-worker", "upload-apply-worker"] as const;
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
export const workerUrl = (name: WorkerName) =>
  isCompiled ? `./jobs/${name}.ts` : new URL(`./${name}.ts`, import.meta.url).href;

// A worker told to stop has this long to stop its child and itself; then it is terminated.
const STOP_GRACE_MS = 10_000;

// An idle worker is kept this long for the next job, at most this many of each kind.
const KEEP_IDLE_MS = 60_000;
const IDLE_PER_NAME = 4;

// Bun's workers can stop keeping the program running; its types do not say so.
export type Thread = Worker & { ref(): void; unref(): void };

type Listener = { message(data: unknown): void; error(text: string): void; close(): void };

/**
 * The worker threads that run spreadsheet work, so that the server keeps answering
 * meanwhile. A worker that finished its job waits for the next one of its kind: starting
 * a thread costs its modules and their compilation again, at normal priority, which on a
 * busy day was most of a small upload's time and the pages' worst delays (bench/burst.ts).
 * A worker that failed, crashed or was stopped is never used again.
 */
export class WorkerThreads {
  private idle = new Map<WorkerName, { worker: Thread; timer: ReturnType<typeof setTimeout> }[]>();
  private listeners = new Map<Worker, Listener>();
  private closed = false;

  /**
   * Runs one job in a worker. When `signal` aborts, the worker is asked to stop (it stops
   * its reading child and leaves its work undone), and is terminated if it does not; the
   * promise rejects with the reason.
   */
  run<Input, Result>(name: WorkerName, input: Input, onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<Result> {
    const worker = this.take(name);
    return new Promise((resolve, reject) => {
      let settled = false;
      let grace: ReturnType<typeof setTimeout> | undefined;
      const finish = (settle: () => void, reusable: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(grace);
        signal?.removeEventListener("abort", onAbort);
        this.listeners.delete(worker);
        if (reusable && !signal?.aborted) this.keep(name, worker);
        else worker.terminate();
        settle();
      };
      const onAbort = () => {
        worker.postMessage({ stop: true });
        grace = setTimeout(() => finish(() => reject(signal!.reason), false), STOP_GRACE_MS);
      };
      this.listeners.set(worker, {
        message: (data) => {
          const message = data as WorkerMessage<Result>;
          if (message.type === "progress") onProgress(message.done, message.total);
          // Work done stays done, even when the stop came while it was finishing.
          else if (message.type === "done") finish(() => resolve(message.result), true);
          else if (signal?.aborted) finish(() => reject(signal.reason), false);
          else finish(() => reject(message.forUser ? new JobError(message.message, message.final) : new Error(message.message)), message.forUser);
        },
        error: (text) => finish(() => reject(new Error(text || `${name} failed`)), false),
        // A worker that ends without a word must not leave its job waiting for ever.
        close: () => finish(() => reject(new Error(`${name} ended without finishing`)), false),
      });
      if (signal?.aborted) return finish(() => reject(signal.reason), false);
      signal?.addEventListener("abort", onAbort, { once: true });
      worker.postMessage(input);
    });
  }

  /** Ends the idle workers; a job still running ends its own when it finishes. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) {
      for (const { worker, timer } of list) {
        clearTimeout(timer);
        worker.terminate();
      }
    }
    this.idle.clear();
  }

  private take(name: WorkerName): Thread {
    const kept = this.idle.get(name)?.pop();
    if (kept) {
      clearTimeout(kept.timer);
      kept.worker.ref();
      return kept.worker;
    }
    const worker = new Worker(workerUrl(name)) as Thread;
    worker.onmessage = (event) => this.listeners.get(worker)?.message(event.data);
    worker.onerror = (event) => this.listeners.get(worker)?.error(event.message);
    worker.addEventListener("close", () => {
      this.listeners.get(worker)?.close();
      this.forget(name, worker);
    });
    return worker;
  }

  private keep(name: WorkerName, worker: Thread): void {
    const list = this.idle.get(name) ?? [];
    if (this.closed || list.length >= IDLE_PER_NAME) return worker.terminate();
    // An idle worker never keeps the program running.
    worker.unref();
    const timer = setTimeout(() => {
      this.forget(name, worker);
      worker.terminate();
    }, KEEP_IDLE_MS);
    timer.unref();
    list.push({ worker, timer });
    this.idle.set(name, list);
  }

  private forget(name: WorkerName, worker: Worker): void {
    const list = this.idle.get(name);
    const at = list?.findIndex((kept) => kept.worker === worker) ?? -1;
    if (at >= 0) clearTimeout(list!.splice(at, 1)[0]!.timer);
  }
}

/** Thrown inside a worker whose work was stopped. */
export class WorkStopped extends Error {}

/**
 * The worker side: runs `work` for each job it is given, one at a time, and reports how it
 * went. A `{ stop: true }` aborts the signal the running job was given. `priority` says how
 * far the thread is lowered (see lowerPriority).
 */
export function serveWorker<Input, Result>(
  priority: "background" | "idle",
  work: (input: Input, progress: (done: number, total: number) => void, signal: AbortSignal) => Promise<Result>,
): void {
  const scope = self as unknown as Worker;
  lowerPriority(priority);
  const post = (message: WorkerMessage<Result>) => scope.postMessage(message);
  let running: AbortController | null = null;
  scope.onmessage = async (event: MessageEvent<Input | { stop: true }>) => {
    if ((event.data as { stop?: boolean }).stop === true) return running?.abort(new WorkStopped("stopped"));
    if (running) return;
    const stop = (running = new AbortController());
    try {
      const result = await work(event.data as Input, (done, total) => post({ type: "progress", done, total }), stop.signal);
      post({ type: "done", result });
    } catch (error) {
      const final = error instanceof JobError && error.final;
      post({ type: "error", message: error instanceof Error ? error.message : String(error), final, forUser: error instanceof JobError });
    } finally {
      running = null;
    }
  };
}
