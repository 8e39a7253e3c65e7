import { neutralizeFormula } from "./cells.ts";
import { csvLine, csvSink } from "./trainee-file.ts";
import { Style, XlsxStreamWriter, type CellValue } from "./xlsx-writer.ts";

/** A column of a plain table file: its header, width, and how to read it from a row (a date as `{ date }`). */
export type TableColumn<Row> = { header: string; width: number; value: (row: Row) => string | number | { date: string } | null };

/** One sheet of a table book: a header row and its rows, streamed; or lines of text, such as a legend. */
export type TableSheet = { name: string; widths: number[]; header?: string[]; rows: Iterable<CellValue[]>; bold?: (cells: CellValue[]) => boolean };

/** A sheet of rows read through columns: text is neutralised, dates are real dates. */
export function tableSheet<Row>(name: string, columns: readonly TableColumn<Row>[], rows: Iterable<Row>): TableSheet {
  return {
    name,
    widths: columns.map((c) => c.width),
    header: columns.map((c) => c.header),
    rows: (function* () {
      for (const row of rows) {
        yield columns.map((c) => {
          const value = c.value(row);
          return typeof value === "string" ? (value === "" ? null : neutralizeFormula(value)) : value;
        });
      }
    })(),
  };
}

const PROGRESS_EVERY = 2000;
const csvText = (value: CellValue) => (value === null ? "" : typeof value === "object" ? value.date.split("-").reverse().join("/") : String(value));

/**
 * Writes sheets as one .xlsx, or the first sheet as a CSV (`;`, UTF-8 with BOM); the rows
 * are read as they are written, so a file of a million rows takes the memory of one.
 * `onProgress` counts the rows of the first sheet. Returns that count.
 */
export async function writeTableBook(
  format: "xlsx" | "csv",
  sheets: readonly TableSheet[],
  sink: (chunk: Uint8Array) => void,
  onProgress: (rows: number) => void = () => {},
): Promise<number> {
  let count = 0;
  const counted = (index: number) => {
    if (index !== 0) return;
    if (++count % PROGRESS_EVERY === 0) onProgress(count);
  };
  if (format === "csv") {
    const [first] = sheets;
    const csv = csvSink(sink);
    if (first?.header) csv.write(csvLine(first.header));
    for (const cells of first?.rows ?? []) {
      csv.write(csvLine(cells.map(csvText)));
      counted(0);
    }
    csv.end();
    onProgress(count);
    return count;
  }
  const writer = new XlsxStreamWriter(
    sink,
    sheets.map((s) => ({ name: s.name, header: s.header !== undefined, columns: s.widths.map((width) => ({ width })) })),
  );
  sheets.forEach((sheet, index) => {
    writer.startSheet(sheet.name);
    if (sheet.header) writer.row(sheet.header, sheet.header.map(() => Style.header));
    for (const cells of sheet.rows) {
      writer.row(cells, sheet.bold?.(cells) ? cells.map(() => Style.bold) : cells.map((c) => (c !== null && typeof c === "object" ? Style.date : undefined)));
      counted(index);
    }
    writer.endSheet();
  });
  writer.finish();
  onProgress(count);
  return count;
}

/** One sheet, or a CSV, with a header row: for lists such as the job summary. */
export async function writeTableFile<Row>(
  format: "xlsx" | "csv",
  sheetName: string,
  columns: readonly TableColumn<Row>[],
  rows: Iterable<Row>,
  sink: (chunk: Uint8Array) => void,
): Promise<void> {
  await writeTableBook(format, [tableSheet(sheetName, columns, rows)], sink);
}
