import { neutralizeFormula } from "./cells.ts";
import { cellText, FILE_FORMAT_VERSION, SHEET_NAMES, TRAINEE_COLUMNS, flagText, type TraineeRow } from "./columns.ts";
import { Style, XlsxStreamWriter, type CellValue, type SheetSpec } from "./xlsx-writer.ts";

type CodeList = { code: string; description: string }[];

export type TraineeFileContext = {
  exportId: number;
  agencyCode: string;
  agencyName: string;
  year: number;
  trainingTypes: string[];
  generatedAt: Date;
  categories: CodeList;
  contractTypes: CodeList;
  trainingTypeList: CodeList;
};

export type FileFormat = "xlsx" | "csv";

export function traineeFileName(ctx: Pick<TraineeFileContext, "agencyCode" | "year" | "exportId">, format: FileFormat) {
  return `fasce-deboli_${ctx.agencyCode}_${ctx.year}_${ctx.exportId}.${format}`;
}

export const FILE_CONTENT_TYPES: Record<FileFormat, string> = {
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  csv: "text/csv; charset=utf-8",
};

/** Key/value pairs of the hidden metadata sheet, checked when the file comes back. */
export function metadataEntries(ctx: TraineeFileContext): [string, string][] {
  return [
    ["booking_id", String(ctx.exportId)],
    ["agency_code", ctx.agencyCode],
    ["year", String(ctx.year)],
    ["training_types", ctx.trainingTypes.join(",")],
    ["generated_at", ctx.generatedAt.toISOString()],
    ["format_version", FILE_FORMAT_VERSION],
  ];
}

const text = (value: string | null) => (value === null || value === "" ? null : neutralizeFormula(value));

/** The cells of one trainee, in column order. */
function traineeCells(row: TraineeRow): CellValue[] {
  return TRAINEE_COLUMNS.map((column) => {
    const value = row[column.key];
    if (value === null) return null;
    if (column.kind === "flag") return flagText(value as boolean);
    if (column.kind === "date") return { date: value as string };
    return text(String(value));
  });
}

const fasciaIndex = TRAINEE_COLUMNS.findIndex((c) => c.key === "fasciaDebole");
// Homogeneous classes: the category is shown greyed, as it may not change.
const lockedFascia = TRAINEE_COLUMNS.map((_, i) => (i === fasciaIndex ? Style.locked : undefined));

function legendRows(ctx: TraineeFileContext): { cells: CellValue[]; bold?: boolean }[] {
  const rows: { cells: CellValue[]; bold?: boolean }[] = [
    { cells: [`Fasce deboli e placement ${ctx.year} — ${ctx.agencyName}`], bold: true },
    { cells: ["Compila le colonne modificabili e ricarica il file nella sezione Placement. Nelle aule omogenee la fascia debole (in grigio) non si modifica; i dati di placement vanno compilati per tutti."] },
    { cells: [] },
    { cells: ["Colonna", "Modificabile", "Come compilarla"], bold: true },
    ...TRAINEE_COLUMNS.map((c) => ({ cells: [c.header, c.editable ? "SI" : "NO", c.help] as CellValue[] })),
    { cells: [] },
    { cells: ["Fascia debole", "Descrizione"], bold: true },
    { cells: ["NO", "L'allievo non appartiene ad alcuna categoria fasce deboli"] },
    ...ctx.categories.map((c) => ({ cells: [c.code, c.description] as CellValue[] })),
    { cells: [] },
    { cells: ["Tipo contratto", "Descrizione"], bold: true },
    ...ctx.contractTypes.map((c) => ({ cells: [c.code, c.description] as CellValue[] })),
    { cells: [] },
    { cells: ["Tipologia formativa", "Descrizione"], bold: true },
    ...ctx.trainingTypeList.map((c) => ({ cells: [c.code, c.description] as CellValue[] })),
  ];
  return rows;
}

export type ProgressCallback = (rowsWritten: number) => void;
const PROGRESS_EVERY = 2000;

/**
 * Writes the trainee file: sheet "Allievi", the legend and the hidden metadata, or the
 * CSV that Italian Excel opens (`;`, UTF-8 with BOM, CRLF).
 */
export async function writeTraineeFile(
  format: FileFormat,
  rows: Iterable<TraineeRow>,
  ctx: TraineeFileContext,
  sink: (chunk: Uint8Array) => void,
  onProgress: ProgressCallback = () => {},
): Promise<number> {
  return format === "xlsx" ? writeXlsx(rows, ctx, sink, onProgress) : writeCsv(rows, sink, onProgress);
}

async function writeXlsx(
  rows: Iterable<TraineeRow>,
  ctx: TraineeFileContext,
  sink: (chunk: Uint8Array) => void,
  onProgress: ProgressCallback,
): Promise<number> {
  const listOf = (key: string) => TRAINEE_COLUMNS.findIndex((c) => c.key === key);
  const sheets: SheetSpec[] = [
    {
      name: SHEET_NAMES.trainees,
      header: true,
      columns: TRAINEE_COLUMNS.map((c) => ({ width: c.width, style: c.kind === "date" ? Style.date : Style.text })),
      lists: [
        { column: listOf("fasciaDebole"), values: ["NO", ...ctx.categories.map((c) => c.code)] },
        { column: listOf("placed"), values: ["SI", "NO"] },
        { column: listOf("contractType"), values: ctx.contractTypes.map((c) => c.code) },
      ],
    },
    { name: SHEET_NAMES.legend, columns: [{ width: 24 }, { width: 60 }, { width: 90 }] },
    { name: SHEET_NAMES.metadata, hidden: true, columns: [{ width: 18 }, { width: 30 }] },
  ];
  const writer = new XlsxStreamWriter(sink, sheets);
  writer.startSheet(SHEET_NAMES.trainees);
  writer.row(
    TRAINEE_COLUMNS.map((c) => c.header),
    TRAINEE_COLUMNS.map(() => Style.header),
  );
  let count = 0;
  for (const row of rows) {
    writer.row(traineeCells(row), row.homogeneous ? lockedFascia : undefined);
    if (++count % PROGRESS_EVERY === 0) onProgress(count);
  }
  writer.endSheet();

  writer.startSheet(SHEET_NAMES.legend);
  for (const line of legendRows(ctx)) {
    writer.row(line.cells, line.bold ? line.cells.map(() => Style.bold) : undefined);
  }
  writer.endSheet();

  writer.startSheet(SHEET_NAMES.metadata);
  for (const [key, value] of metadataEntries(ctx)) writer.row([key, value]);
  writer.endSheet();
  writer.finish();
  onProgress(count);
  return count;
}

// A comma too: a program set to a comma locale splits the line there.
const CSV_SPECIAL = /[";,\r\n]/;
const csvField = (value: string) => (CSV_SPECIAL.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** One CSV line as Italian Excel reads it: `;`-separated, CRLF. */
export const csvLine = (fields: readonly string[]) => `${fields.map(csvField).join(";")}\r\n`;

/** A UTF-8 CSV with BOM, written in large chunks. */
export function csvSink(sink: (chunk: Uint8Array) => void) {
  const encoder = new TextEncoder();
  let buffer = "";
  sink(new Uint8Array([0xef, 0xbb, 0xbf]));
  return {
    write(text: string) {
      buffer += text;
      if (buffer.length > 256 * 1024) {
        sink(encoder.encode(buffer));
        buffer = "";
      }
    },
    end() {
      sink(encoder.encode(buffer));
    },
  };
}

async function writeCsv(rows: Iterable<TraineeRow>, sink: (chunk: Uint8Array) => void, onProgress: ProgressCallback) {
  const csv = csvSink(sink);
  csv.write(csvLine(TRAINEE_COLUMNS.map((c) => c.header)));
  let count = 0;
  for (const row of rows) {
    csv.write(csvLine(TRAINEE_COLUMNS.map((c) => neutralizeFormula(cellText(c, row)))));
    if (++count % PROGRESS_EVERY === 0) onProgress(count);
  }
  csv.end();
  onProgress(count);
  return count;
}
