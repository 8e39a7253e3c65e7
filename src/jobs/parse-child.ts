// The child process that reads an uploaded file (`placement internal parse-upload`), given
// on its input: whatever the file does to memory or time, it does it here and not in the
// server. It never sees the key the file is sealed with at rest.
import { formatNumber } from "../format.ts";
import { UNREADABLE, UploadError } from "../sheets/upload-error.ts";
import { firstMonthFirstLine, parseUpload, type UploadKind } from "../sheets/upload-parse.ts";
import { BATCH_CHARS, type WireMessage } from "./child-protocol.ts";
import { peakResidentMb } from "./priority.ts";
import type { RawCell, SheetRow } from "../sheets/xlsx-reader.ts";

// How much the child writes between two waits for the server to read it.
const FLUSH_EVERY = 256 * 1024;

// Excel's own limit for a cell: a longer one was not written by a spreadsheet program.
const MAX_CELL = 32_767;

function checkCells(cells: readonly RawCell[], line: number): void {
  for (const cell of cells) {
    if (typeof cell === "string" && cell.length > MAX_CELL) {
      throw new UploadError(
        `Alla riga ${line} una cella ha più di ${formatNumber(MAX_CELL)} caratteri, più di quanti un foglio di calcolo ne ammetta: correggila, salva il file e ricaricalo.`,
      );
    }
  }
}

async function* checkedRows(rows: AsyncIterable<SheetRow>): AsyncGenerator<SheetRow> {
  for await (const row of rows) {
    checkCells(row.cells, row.line);
    yield row;
  }
}

export async function runUploadChild(headerOnly: boolean, kind: UploadKind): Promise<void> {
  const started = performance.now();
  const out = Bun.stdout.writer({ highWaterMark: 1024 * 1024 });
  // Waits for the server to read what was written, rather than buffering without end.
  let buffered = 0;
  const write = async (line: string) => {
    out.write(line);
    buffered += line.length;
    if (buffered >= FLUSH_EVERY) {
      buffered = 0;
      await out.flush();
      // The garbage of a quarter megabyte of rows (slices, cells, their JSON) is mostly
      // strings, which the collector does not count as heap: left to itself it let a
      // 100,000-row sheet reach 410 MB instead of 260 MB; collecting here costs no measurable
      // time, and every quarter megabyte rather than every megabyte took the peak from 165 to
      // 155 MB once the sheet was inflated as a stream (bench:import).
      Bun.gc(false);
    }
  };
  const emit = (message: WireMessage) => write(`${JSON.stringify(message)}\n`);
  // Rows travel in batches of whole rows: one line and one JSON.parse in the server per
  // batch, not per row. A line holds at most BATCH_CHARS, or one row when it is longer.
  let batch: string[] = [];
  let batchChars = 0;
  const flushBatch = async () => {
    if (batch.length) await write(`{"t":"rows","rows":[${batch.join(",")}]}\n`);
    batch = [];
    batchChars = 0;
  };
  try {
    // As large as the upload limit allows; the parent's memory cap stops it beyond.
    const bytes = new Uint8Array(await Bun.stdin.arrayBuffer());
    const parsed = await parseUpload(bytes, { headerOnly, kind });
    checkCells(parsed.header, 1);
    for (const value of Object.values(parsed.metadata ?? {})) checkCells([value], 1);
    const rows = checkedRows(parsed.rows);
    // Checked at upload so that a file with month-first dates is refused while the clerk waits.
    const monthFirstLine = headerOnly ? await firstMonthFirstLine({ ...parsed, rows }, kind) : null;
    await emit({ t: "header", format: parsed.format, sheet: parsed.sheet, header: parsed.header, metadata: parsed.metadata, monthFirstLine });
    let count = 0;
    for await (const row of headerOnly ? [] : rows) {
      const text = JSON.stringify([row.line, row.cells]);
      // Each row with the comma that follows it.
      if (batchChars + text.length + 1 > BATCH_CHARS) await flushBatch();
      batch.push(text);
      batchChars += text.length + 1;
      count++;
    }
    await flushBatch();
    const ms = Math.round(performance.now() - started);
    await emit({ t: "end", rows: count, peakMb: Math.round(peakResidentMb()), ms });
  } catch (error) {
    await emit({ t: "error", message: error instanceof UploadError ? error.message : UNREADABLE });
  }
  await out.end();
}
