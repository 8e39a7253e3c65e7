// What the reading child (parse-child.ts) tells the server (parse-runner.ts), one JSON text
// per line. Its own module, so that the child loads nothing of the server to speak it.
import type { UploadFormat } from "../sheets/upload-parse.ts";
import type { RawCell, SheetRow } from "../sheets/xlsx-reader.ts";

/** What the server reads of the child: the rows a batch at a time, as they came. */
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
  | { t: "rows"; rows: SheetRow[] }
  /** The child's own time and peak memory, for the log. */
  | { t: "end"; rows: number; peakMb: number; ms: number }
  | { t: "error"; message: string };

/** What the child writes, one JSON text per line: rows travel in batches. */
export type WireMessage = Exclude<ChildMessage, { t: "rows" }> | { t: "rows"; rows: [line: number, cells: RawCell[]][] };

/** The text of one batch of rows, unless a single row is longer. */
export const BATCH_CHARS = 256 * 1024;

