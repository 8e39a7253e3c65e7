// The child process that reads an uploaded file (`placement internal parse-upload FILE`):
// whatever the file does to memory or time, it does it here and not in the server.
import { UploadError } from "./upload-error.ts";
import { firstMonthFirstLine, parseUpload, type UploadKind } from "./upload-parse.ts";
import type { ChildMessage } from "./upload-runner.ts";

const UNREADABLE = "Il file non può essere letto: salvalo di nuovo dal programma di calcolo e ricaricalo.";

export async function runUploadChild(path: string, headerOnly: boolean, kind: UploadKind): Promise<void> {
  const out = Bun.stdout.writer({ highWaterMark: 1024 * 1024 });
  const emit = (message: ChildMessage) => out.write(`${JSON.stringify(message)}\n`);
  try {
    const bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
    const parsed = parseUpload(bytes, { headerOnly, kind });
    // Checked at upload so that a file with month-first dates is refused while the clerk waits.
    const monthFirstLine = headerOnly ? firstMonthFirstLine(parsed, kind) : null;
    emit({ t: "header", format: parsed.format, sheet: parsed.sheet, header: parsed.header, metadata: parsed.metadata, monthFirstLine });
    let rows = 0;
    for (const row of parsed.rows) {
      emit({ t: "row", line: row.line, cells: row.cells });
      rows++;
    }
    emit({ t: "end", rows, peakMb: Math.round(process.resourceUsage().maxRSS / 1024) });
  } catch (error) {
    emit({ t: "error", message: error instanceof UploadError ? error.message : UNREADABLE });
  }
  await out.end();
}
