import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isCompiled } from "../config.ts";
import { SealError, unsealFile, type KeyRing } from "../services/sealed-files.ts";
import { UNREADABLE } from "../sheets/upload-error.ts";
import type { UploadKind } from "../sheets/upload-parse.ts";
import type { ChildMessage, WireMessage } from "./child-protocol.ts";
import type { SheetRow } from "../sheets/xlsx-reader.ts";

export type ChildLimits = { timeoutMs: number; maxMemoryMb: number };

/** How much time and memory the child may use: checking the header at upload, reading it all in the job. */
export const PARSE_LIMITS = {
  header: { timeoutMs: 20_000, maxMemoryMb: 1024 },
  full: { timeoutMs: 300_000, maxMemoryMb: 1536 },
} satisfies Record<string, ChildLimits>;

// The executable re-invokes itself; from source, bun runs main.ts.
const command = (headerOnly: boolean, kind: UploadKind) => [
  process.execPath,
  ...(isCompiled ? [] : [join(import.meta.dir, "../main.ts")]),
  "internal",
  "parse-upload",
  ...(headerOnly ? ["--header-only"] : []),
  "--kind",
  kind,
];

// The reading child gets none of the program's settings: no data key, no SMTP password.
const CHILD_VARIABLES = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"];
const childEnvironment = () => Object.fromEntries(CHILD_VARIABLES.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]!]])));

function residentMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

// The child's output is bounded like any input: a line holds a batch of rows of at most
// BATCH_CHARS, or one longer row (60 cells of at most 32,767 characters), all lines together at most what a file of the largest
// size we read makes. Past either, the child is stopped and the file refused.
export const OUTPUT_LIMITS = { lineBytes: 4 * 1024 * 1024, totalBytes: 160 * 1024 * 1024 };

const TOO_LARGE_READ =
  "Il file, una volta letto, contiene molto più testo di un foglio di Placement: controlla che non abbia celle molto lunghe o ripetute, salvalo di nuovo e ricaricalo.";

const FORMATS = new Set(["xlsx", "xls", "ods", "csv"]);
const isCell = (c: unknown) => c === null || typeof c === "string" || typeof c === "number" || (typeof c === "object" && (c as { formula?: unknown }).formula === true);

const isRow = (r: unknown) =>
  Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Array.isArray(r[1]) && r[1].length <= 200 && r[1].every(isCell);
const isAmount = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n >= 0;

/** A line of the child's output as a message, or null when it is not one this program writes. */
export function messageOf(line: string): WireMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const m = value as Record<string, unknown> | null;
  if (!m || typeof m !== "object") return null;
  const texts = (v: unknown) => Array.isArray(v) && v.length <= 200 && v.every((x) => typeof x === "string");
  const record = (v: unknown) =>
    v === null || (typeof v === "object" && !Array.isArray(v) && Object.values(v as object).length <= 100 && Object.values(v as object).every((x) => typeof x === "string"));
  switch (m.t) {
    case "rows":
      return Array.isArray(m.rows) && m.rows.every(isRow) ? (m as WireMessage) : null;
    case "header":
      return texts(m.header) &&
        typeof m.sheet === "string" &&
        m.sheet.length <= 255 &&
        FORMATS.has(m.format as string) &&
        record(m.metadata) &&
        (m.monthFirstLine === null || Number.isSafeInteger(m.monthFirstLine))
        ? (m as WireMessage)
        : null;
    case "end":
      return Number.isSafeInteger(m.rows) && isAmount(m.peakMb) && isAmount(m.ms) ? (m as WireMessage) : null;
    case "error":
      return typeof m.message === "string" && m.message.length < 2000 ? (m as WireMessage) : null;
    default:
      return null;
  }
}

/** Whether a message may come now: one header first, then rows, then the end; an error at any time. */
export function inTurn(message: WireMessage, headerSeen: boolean): boolean {
  if (message.t === "header") return !headerSeen;
  return message.t === "error" || headerSeen;
}

/** The lines of a byte stream: each new chunk is searched once, and no line grows past `maxLine`. */
async function* linesOf(stream: ReadableStream<Uint8Array>, limits: typeof OUTPUT_LIMITS): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pieces: Uint8Array[] = [];
  let pending = 0;
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > limits.totalBytes) throw new OutputTooLarge();
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      pieces.push(chunk.subarray(start, newline));
      yield decoder.decode(Buffer.concat(pieces));
      pieces = [];
      pending = 0;
      start = newline + 1;
    }
    if (start < chunk.length) {
      pieces.push(chunk.subarray(start));
      pending += chunk.length - start;
      if (pending > limits.lineBytes) throw new OutputTooLarge();
    }
  }
}

class OutputTooLarge extends Error {}

const LONG_TEXT = 256;

const ALTERED_AT_REST =
  "Il file caricato non si può più leggere: sul server risulta alterato o incompleto. Caricalo di nuovo; se si ripete, avvisa il Fondo.";
const COLLECT_EVERY = 1024 * 1024;

/**
 * Reads an uploaded file in a child process and yields what it finds. The child is killed
 * when it runs out of time, grows past its memory cap or writes more than its output may
 * hold; that ends as an error message. The child is always waited for, so none is left behind.
 */
export async function* parseInChild(
  path: string,
  options: { headerOnly: boolean; limits: ChildLimits; keys: KeyRing; kind?: UploadKind; output?: typeof OUTPUT_LIMITS; signal?: AbortSignal },
): AsyncGenerator<ChildMessage> {
  const { headerOnly, limits, keys, kind = "trainees", output = OUTPUT_LIMITS, signal } = options;
  signal?.throwIfAborted();
  const child = Bun.spawn(command(headerOnly, kind), { stdout: "pipe", stderr: "ignore", stdin: "pipe", env: childEnvironment() });
  const stopped: { for: "time" | "memory" | "output" | "sealed" | null } = { for: null };
  // The child gets the plaintext through its input, never the key; a file altered on disk
  // stops it, and the upload is refused as such.
  const feeding = new AbortController();
  const fed = (async () => {
    try {
      for await (const part of unsealFile(path, keys, feeding.signal)) {
        child.stdin.write(part);
        await child.stdin.flush();
      }
    } catch (error) {
      if (error instanceof SealError) {
        stopped.for = "sealed";
        child.kill("SIGKILL");
      }
    } finally {
      try {
        await child.stdin.end();
      } catch {
        // The child is gone: nothing more to tell it.
      }
    }
  })();
  // A job stopped past its budget stops its child at once.
  const stopChild = () => {
    feeding.abort();
    child.kill("SIGKILL");
  };
  signal?.addEventListener("abort", stopChild, { once: true });
  const timer = setTimeout(() => {
    stopped.for = "time";
    child.kill("SIGKILL");
  }, limits.timeoutMs);
  const watchdog = setInterval(() => {
    if (residentMb(child.pid) > limits.maxMemoryMb) {
      stopped.for = "memory";
      child.kill("SIGKILL");
    }
  }, 50);
  let ended = false;
  // A file may repeat one long text in many cells (a shared string): kept once, not per cell.
  const texts = new Map<string, string>();
  try {
    let headerSeen = false;
    let read = 0;
    for await (const line of linesOf(child.stdout, output)) {
      // As in the child: what a megabyte of lines leaves behind is strings the collector does not count.
      read += line.length;
      if (read >= COLLECT_EVERY) {
        read = 0;
        Bun.gc(false);
      }
      // Anything but a message of ours, in its turn, ends the reading: the file is then refused as unreadable.
      const message = messageOf(line);
      if (!message || !inTurn(message, headerSeen)) break;
      if (message.t === "header") headerSeen = true;
      if (message.t === "rows") {
        // One message per batch: a yield per row through the async readers cost more than the rows' checks.
        const rows: SheetRow[] = [];
        for (const [number, cells] of message.rows) {
          for (let i = 0; i < cells.length; i++) {
            const cell = cells[i];
            if (typeof cell !== "string" || cell.length < LONG_TEXT) continue;
            const kept = texts.get(cell);
            if (kept === undefined) texts.set(cell, cell);
            else cells[i] = kept;
          }
          rows.push({ line: number, cells });
        }
        yield { t: "rows", rows };
        continue;
      }
      if (message.t === "end" || message.t === "error") ended = true;
      yield message;
      if (ended) break;
    }
  } catch (error) {
    if (!(error instanceof OutputTooLarge)) throw error;
    stopped.for = "output";
  } finally {
    clearTimeout(timer);
    clearInterval(watchdog);
    signal?.removeEventListener("abort", stopChild);
    if (child.exitCode === null) child.kill("SIGKILL");
    await child.exited;
    feeding.abort();
    await fed;
  }
  signal?.throwIfAborted();
  if (!ended) {
    yield {
      t: "error",
      message:
        stopped.for === "memory"
          ? "Il file richiede troppa memoria per essere letto: controlla che non contenga righe o colonne in eccesso, salvalo di nuovo e ricaricalo."
          : stopped.for === "time"
            ? "La lettura del file ha richiesto troppo tempo: controlla che non contenga righe o colonne in eccesso, salvalo di nuovo e ricaricalo."
            : stopped.for === "output"
              ? TOO_LARGE_READ
              : stopped.for === "sealed"
                ? ALTERED_AT_REST
                : UNREADABLE,
    };
  }
}
