import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isCompiled } from "../config.ts";
import type { UploadFormat, UploadKind } from "./upload-parse.ts";
import type { RawCell } from "./xlsx-reader.ts";

export type ChildMessage =
  | {
      t: "header";
      format: UploadFormat;
      sheet: string;
      header: string[];
      metadata: Record<string, string> | null;
      /** At upload: the first line with a month-first text date, if any. */
      monthFirstLine: number | null;
    }
  | { t: "row"; line: number; cells: RawCell[] }
  | { t: "end"; rows: number; peakMb: number }
  | { t: "error"; message: string };

export type ChildLimits = { timeoutMs: number; maxMemoryMb: number };

/** How much time and memory the child may use: checking the header at upload, reading it all in the job. */
export const PARSE_LIMITS = {
  header: { timeoutMs: 20_000, maxMemoryMb: 1024 },
  full: { timeoutMs: 300_000, maxMemoryMb: 1536 },
} satisfies Record<string, ChildLimits>;

// The executable re-invokes itself; from source, bun runs main.ts.
const command = (path: string, headerOnly: boolean, kind: UploadKind) => [
  process.execPath,
  ...(isCompiled ? [] : [join(import.meta.dir, "../main.ts")]),
  "internal",
  "parse-upload",
  path,
  ...(headerOnly ? ["--header-only"] : []),
  "--kind",
  kind,
];

function residentMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * Reads an uploaded file in a child process and yields what it finds. The child is killed
 * when it runs out of time or grows past its memory cap; that ends as an error message.
 */
export async function* parseInChild(
  path: string,
  headerOnly: boolean,
  limits: ChildLimits,
  kind: UploadKind = "trainees",
): AsyncGenerator<ChildMessage> {
  const child = Bun.spawn(command(path, headerOnly, kind), { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
  let killedFor: "time" | "memory" | null = null;
  const timer = setTimeout(() => {
    killedFor = "time";
    child.kill("SIGKILL");
  }, limits.timeoutMs);
  const watchdog = setInterval(() => {
    if (residentMb(child.pid) > limits.maxMemoryMb) {
      killedFor = "memory";
      child.kill("SIGKILL");
    }
  }, 50);
  let ended = false;
  try {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let newline = pending.indexOf("\n");
      while (newline !== -1) {
        const message = JSON.parse(pending.slice(0, newline)) as ChildMessage;
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
        if (message.t === "end" || message.t === "error") ended = true;
        yield message;
      }
    }
    await child.exited;
  } finally {
    clearTimeout(timer);
    clearInterval(watchdog);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  if (!ended) {
    yield {
      t: "error",
      message:
        killedFor === "memory"
          ? "Il file richiede troppa memoria per essere letto: controlla che non contenga righe o colonne in eccesso, salvalo di nuovo e ricaricalo."
          : killedFor === "time"
            ? "La lettura del file ha richiesto troppo tempo: controlla che non contenga righe o colonne in eccesso, salvalo di nuovo e ricaricalo."
            : "Il file non può essere letto: salvalo di nuovo dal programma di calcolo e ricaricalo.",
    };
  }
}
