import { neutralizeFormula } from "./cells.ts";
import { csvLine, csvSink } from "./trainee-file.ts";
import { Style, XlsxStreamWriter, type CellValue } from "./xlsx-writer.ts";

/** A column of a plain table file: its header, width, and how to read it from a row. */
export type TableColumn<Row> = { header: string; width: number; value: (row: Row) => string | number | null };

/** One sheet, or a CSV, with a header row: for lists such as the job summary. */
export async function writeTableFile<Row>(
  format: "xlsx" | "csv",
  sheetName: string,
  columns: readonly TableColumn<Row>[],
  rows: readonly Row[],
  sink: (chunk: Uint8Array) => void,
): Promise<void> {
  const cells = (row: Row): CellValue[] =>
    columns.map((c) => {
      const value = c.value(row);
      return typeof value === "string" ? neutralizeFormula(value) : value;
    });
  if (format === "csv") {
    const csv = csvSink(sink);
    csv.write(csvLine(columns.map((c) => c.header)));
    for (const row of rows) csv.write(csvLine(cells(row).map((v) => (v === null ? "" : String(v)))));
    csv.end();
    return;
  }
  const writer = new XlsxStreamWriter(sink, [{ name: sheetName, header: true, columns: columns.map((c) => ({ width: c.width })) }]);
  writer.startSheet(sheetName);
  writer.row(columns.map((c) => c.header), columns.map(() => Style.header));
  for (const row of rows) writer.row(cells(row));
  writer.endSheet();
  writer.finish();
}
