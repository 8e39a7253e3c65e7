// Reads the header and metadata of an upload off the main thread, while the clerk waits
// (started by src/jobs/intake.ts): the child's output never reaches the server's loop.
import { UNREADABLE } from "../sheets/upload-error.ts";
import type { UploadFormat, UploadKind } from "../sheets/upload-parse.ts";
import { parseInChild, type ChildLimits } from "./parse-runner.ts";
import { serveWorker } from "./worker-runner.ts";
import type { KeyRing } from "../services/sealed-files.ts";

export type HeaderWorkerInput = { path: string; kind: UploadKind; limits: ChildLimits; keys: KeyRing };
export type HeaderWorkerResult =
  | {
      ok: true;
      format: UploadFormat;
      sheet: string;
      header: string[];
      metadata: Record<string, string> | null;
      monthFirstLine: number | null;
    }
  | { ok: false; error: string };

serveWorker<HeaderWorkerInput, HeaderWorkerResult>("idle", async (input, _progress, signal) => {
  for await (const message of parseInChild(input.path, { headerOnly: true, limits: input.limits, keys: input.keys, kind: input.kind, signal })) {
    if (message.t === "error") return { ok: false, error: message.message };
    if (message.t === "header") {
      const { format, sheet, header, metadata, monthFirstLine } = message;
      return { ok: true, format, sheet, header, metadata, monthFirstLine };
    }
  }
  return { ok: false, error: UNREADABLE };
});
