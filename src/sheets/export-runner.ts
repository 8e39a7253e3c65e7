import { isCompiled } from "../config.ts";

// Inside the executable every entry point sits at its path below src/ (see src/build.ts);
// from source the worker is next to this file.
const WORKER_URL = isCompiled ? "./sheets/export-worker.ts" : new URL("./export-worker.ts", import.meta.url).href;

export type ExportWorkerInput = { databasePath: string; jobId: number; outputPath: string; generatedAt: string };
export type ExportWorkerMessage =
  | { type: "progress"; done: number; total: number }
  | { type: "done"; rows: number; bytes: number }
  | { type: "error"; message: string };

/** Writes an export file in a Worker, so that the server keeps answering meanwhile. */
export function runExportWorker(
  input: ExportWorkerInput,
  onProgress: (done: number, total: number) => void,
): Promise<{ rows: number; bytes: number }> {
  const worker = new Worker(WORKER_URL);
  return new Promise((resolve, reject) => {
    const finish = (settle: () => void) => {
      worker.terminate();
      settle();
    };
    worker.onmessage = (event: MessageEvent<ExportWorkerMessage>) => {
      const message = event.data;
      if (message.type === "progress") onProgress(message.done, message.total);
      else if (message.type === "done") finish(() => resolve({ rows: message.rows, bytes: message.bytes }));
      else finish(() => reject(new Error(message.message)));
    };
    worker.onerror = (event) => finish(() => reject(new Error(event.message || "export worker failed")));
    worker.postMessage(input);
  });
}
