import { isDateSerial, isoFromSerial, neutralizeFormula } from "./cells.ts";
import { SHEET_NAMES } from "./columns.ts";
import type { RawCell } from "./xlsx-reader.ts";
import { Style, XlsxStreamWriter, type CellValue } from "./xlsx-writer.ts";
import { csvLine, csvSink } from "./trainee-file.ts";

export type OutcomeRow = { cells: readonly RawCell[]; outcome: string; message: string | null };

/** Where the upload's columns are, and the one cell a row may write anew (its new "Versione"). */
export type OutcomeLayout<R extends OutcomeRow> = {
  sheet: string;
  header: readonly string[];
  dateColumns: ReadonlySet<number>;
  metadata: Record<string, string> | null;
  replaced?: { column: number; value: (row: R) => string | null };
};

/**
 * The uploaded rows, in their order, with "Esito" and "Messaggio" added: the clerk fixes
 * the KO rows in this file and uploads it again. The sheet keeps its name and the upload's
 * metadata, so that the file is acceptable as an upload.
 */
export async function writeOutcomeFile<R extends OutcomeRow>(
  format: "xlsx" | "csv",
  upload: OutcomeLayout<R>,
  rows: readonly R[],
  sink: (chunk: Uint8Array) => void,
): Promise<void> {
  // A loop, not Math.max(...rows): a spread of 200,000 arguments overflows the stack.
  let width = upload.header.length;
  for (const row of rows) width = Math.max(width, row.cells.length);
  const header = [...upload.header, ...Array(width - upload.header.length).fill(""), "Esito", "Messaggio"];
  const value = (cell: RawCell | undefined, index: number): CellValue => {
    if (cell === null || cell === undefined || typeof cell === "object") return null;
    if (typeof cell === "number") {
      if (!upload.dateColumns.has(index) || !isDateSerial(cell)) return cell;
      // In a sheet the day's serial is written as it is, in the column's date style: the
      // same cell as its date, without turning each one into text and back (bench:import).
      return format === "xlsx" ? Math.floor(cell) : { date: isoFromSerial(cell)! };
    }
    return cell;
  };
  const replaced = upload.replaced;
  const line = (row: R): CellValue[] => {
    const cells: CellValue[] = new Array(width + 2);
    for (let i = 0; i < width; i++) cells[i] = value(row.cells[i], i);
    const written = replaced?.value(row);
    if (replaced && written) cells[replaced.column] = written;
    cells[width] = row.outcome;
    cells[width + 1] = row.message ?? "";
    return cells;
  };

  if (format === "csv") {
    const csv = csvSink(sink);
    csv.write(csvLine(header.map(neutralizeFormula)));
    for (const row of rows) {
      csv.write(
        csvLine(
          line(row).map((v) =>
            v === null ? "" : typeof v === "object" ? v.date.split("-").reverse().join("/") : neutralizeFormula(String(v)),
          ),
        ),
      );
    }
    csv.end();
    return;
  }

  const metadata = Object.entries(upload.metadata ?? {});
  const writer = new XlsxStreamWriter(sink, [
    {
      name: upload.sheet,
      header: true,
      columns: header.map((_, i) => ({
        width: i === width + 1 ? 80 : i === width ? 12 : 16,
        style: upload.dateColumns.has(i) ? Style.date : Style.text,
      })),
    },
    ...(metadata.length ? [{ name: SHEET_NAMES.metadata, hidden: true, columns: [{ width: 18 }, { width: 30 }] }] : []),
  ]);
  writer.startSheet(upload.sheet);
  writer.row(header.map(neutralizeFormula), header.map(() => Style.header));
  for (const row of rows) {
    const cells = line(row);
    for (let i = 0; i < cells.length; i++) if (typeof cells[i] === "string") cells[i] = neutralizeFormula(cells[i] as string);
    writer.row(cells);
  }
  writer.endSheet();
  if (metadata.length) {
    writer.startSheet(SHEET_NAMES.metadata);
    for (const [key, value] of metadata) writer.row([key, value]);
    writer.endSheet();
  }
  writer.finish();
}
