import type * as XLSX from "xlsx";
import { readTextDate, restoreFormula } from "./cells.ts";
import { matchHeader, normalizeHeader, SHEET_NAMES, TRAINEE_COLUMNS } from "./columns.ts";
import { MASTER_COLUMNS, MASTER_SHEET, matchMasterHeader } from "./master-columns.ts";
import { UploadError } from "./upload-error.ts";
import { XlsxBook, type RawCell, type SheetLimits, type SheetRow } from "./xlsx-reader.ts";
import { ZipArchive } from "./zip-guard.ts";

export type UploadFormat = "xlsx" | "ods" | "xls" | "csv";
export type ParsedRow = SheetRow;
export type ParsedUpload = {
  format: UploadFormat;
  /** The sheet that was read: the expected one, the only one, or the one with the right columns. */
  sheet: string;
  header: string[];
  metadata: Record<string, string> | null;
  /** The data rows, read as they are taken: a large .xlsx sheet is inflated as it goes. */
  rows: AsyncIterable<ParsedRow>;
};

/** What an upload is for: its sheet, how to recognise its header, which columns hold dates. */
export type UploadKind = "trainees" | "master";

const KINDS: Record<UploadKind, { sheet: string; accepts: (header: string[]) => boolean; dateHeaders: string[] }> = {
  trainees: {
    sheet: SHEET_NAMES.trainees,
    accepts: (header) => matchHeader(header).missing.length === 0,
    dateHeaders: TRAINEE_COLUMNS.filter((c) => c.kind === "date").map((c) => c.header),
  },
  master: {
    sheet: MASTER_SHEET,
    accepts: (header) => matchMasterHeader(header).missing.length === 0,
    dateHeaders: MASTER_COLUMNS.filter((c) => c.date).map((c) => c.header),
  },
};

export const sheetOf = (kind: UploadKind) => KINDS[kind].sheet;

export const UPLOAD_LIMITS: SheetLimits = { maxRows: 200_001, maxColumns: 60 };

const NOT_A_SPREADSHEET =
  "Il file non è un foglio di calcolo: carica il file .xlsx, .xls, .ods o .csv scaricato da Placement e compilato.";
const DAMAGED = "Il file è danneggiato o incompleto: salvalo di nuovo dal programma di calcolo e ricaricalo.";

const startsWith = (bytes: Uint8Array, signature: number[]) => signature.every((b, i) => bytes[i] === b);

/** What the bytes are, whatever the file is called: the family, not yet the details. */
export function sniffFormat(bytes: Uint8Array): "zip" | "xls" | "csv" {
  if (bytes.length === 0) return fail("Il file è vuoto: scegli il file compilato e ricaricalo.");
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return "zip";
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    // An encrypted .xlsx travels inside a compound document as "EncryptedPackage".
    const marker = Buffer.from("EncryptedPackage", "utf16le");
    if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(marker)) {
      return fail("Il file è protetto da password: togli la password (File › Informazioni › Proteggi) e ricaricalo.");
    }
    return "xls";
  }
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return fail(NOT_A_SPREADSHEET);
  const text = new TextDecoder("latin1").decode(head).replace(/^\uFEFF|^ï»¿/, "").trimStart().toLowerCase();
  if (text.startsWith("<")) {
    return fail("Il file è una pagina web o un documento XML, non un foglio di calcolo: carica il file scaricato da Placement.");
  }
  return "csv";
}

function fail(message: string): never {
  throw new UploadError(message);
}

/**
 * Reads one sheet (the trainees, unless told) and the metadata of an upload. With
 * `headerOnly`, .xls and .ods are read no further than their first row.
 */
export async function parseUpload(bytes: Uint8Array, options: { headerOnly?: boolean; kind?: UploadKind } = {}): Promise<ParsedUpload> {
  const headerOnly = options.headerOnly ?? false;
  const kind = KINDS[options.kind ?? "trainees"];
  const family = sniffFormat(bytes);
  if (family === "csv") return parseCsv(bytes, kind.sheet);
  if (family === "xls") return parseWithSheetJs(bytes, "xls", headerOnly, kind);
  const zip = new ZipArchive(bytes);
  if (zip.names.includes("xl/workbook.xml")) return parseXlsx(zip, kind);
  if (zip.names.includes("content.xml") && zip.names.includes("mimetype")) {
    // SheetJS inflates everything: every entry is measured within the caps first.
    zip.verifyAll();
    return parseWithSheetJs(bytes, "ods", headerOnly, kind);
  }
  return fail(NOT_A_SPREADSHEET);
}

const sheetMissing = (sheet: string, names: string[]) =>
  new UploadError(
    `Il file non contiene il foglio "${sheet}"${names.length ? ` (fogli trovati: ${names.join(", ")})` : ""}, né un altro foglio con le sue colonne: carica il file scaricato da Placement.`,
  );

/**
 * The sheet to read: the one named as expected; else the only sheet with data (a CSV
 * export saved as .xlsx or .ods has one, named after the file); else the first whose
 * header has the expected columns.
 */
function chooseSheet(names: string[], kind: (typeof KINDS)[UploadKind], headerOf: (name: string) => string[] | null): string {
  const exact = names.find((n) => n.toLowerCase() === kind.sheet.toLowerCase());
  if (exact !== undefined) return exact;
  const side = new Set([SHEET_NAMES.metadata, SHEET_NAMES.legend].map((n) => n.toLowerCase()));
  const candidates = names.filter((n) => !side.has(n.toLowerCase()));
  const withData = candidates.filter((n) => headerOf(n) !== null);
  if (withData.length === 1) return withData[0]!;
  const found = withData.find((n) => kind.accepts(headerOf(n)!));
  if (found === undefined) throw sheetMissing(kind.sheet, names);
  return found;
}

/** The first non-blank row of some rows, as header texts; null when there is none. */
function headerOfRows(rows: Iterable<ParsedRow> | null): string[] | null {
  if (!rows) return null;
  for (const row of dataRows(rows)) return headerTexts(row);
  return null;
}

const headerTexts = (row: ParsedRow) => row.cells.map((c) => (typeof c === "string" || typeof c === "number" ? String(c) : ""));

/**
 * The first line whose date column holds a text date that reads only month-first
 * (10/24/2019), as a spreadsheet in an English locale writes it; null when there is none.
 */
export async function firstMonthFirstLine(parsed: ParsedUpload, kind: UploadKind = "trainees"): Promise<number | null> {
  const wanted = new Set(KINDS[kind].dateHeaders.map(normalizeHeader));
  const columns = parsed.header.flatMap((h, i) => (wanted.has(normalizeHeader(h)) ? [i] : []));
  if (columns.length === 0) return null;
  for await (const row of parsed.rows) {
    for (const column of columns) {
      const cell = row.cells[column];
      if (typeof cell !== "string") continue;
      const reading = readTextDate(restoreFormula(cell));
      if (reading.dayFirst === null && reading.monthFirst !== null) return row.line;
    }
  }
  return null;
}

const filled = (row: ParsedRow) => row.cells.some((c) => c !== null && c !== "");

/** Splits header and data rows; skips blank rows. */
function* dataRows(rows: Iterable<ParsedRow>): Generator<ParsedRow> {
  for (const row of rows) if (filled(row)) yield row;
}

async function* filledRows(rows: Iterable<ParsedRow> | AsyncIterable<ParsedRow>): AsyncGenerator<ParsedRow> {
  for await (const row of rows) if (filled(row)) yield row;
}

async function withHeader(
  format: UploadFormat,
  sheet: string,
  rows: Iterable<ParsedRow> | AsyncIterable<ParsedRow>,
  metadata: Record<string, string> | null,
): Promise<ParsedUpload> {
  const iterator = filledRows(rows);
  const first = await iterator.next();
  if (first.done) throw new UploadError(`Il foglio "${sheet}" è vuoto: manca anche la riga di intestazione.`);
  return { format, sheet, header: headerTexts(first.value), metadata, rows: { [Symbol.asyncIterator]: () => iterator } };
}

function metadataOf(rows: Iterable<SheetRow> | null): Record<string, string> | null {
  if (!rows) return null;
  // A Map first: keys such as "__proto__" in a crafted file stay plain data.
  const metadata = new Map<string, string>();
  for (const { cells: [key, value] } of rows) {
    if (typeof key === "string") metadata.set(key, typeof value === "string" || typeof value === "number" ? String(value) : "");
  }
  return Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(metadata));
}

function parseXlsx(zip: ZipArchive, kind: (typeof KINDS)[UploadKind]): Promise<ParsedUpload> {
  const book = new XlsxBook(zip);
  const metadata = metadataOf(book.rows(SHEET_NAMES.metadata, { maxRows: 50, maxColumns: 2 }));
  const sheet = chooseSheet(book.sheetNames, kind, (name) => headerOfRows(book.rows(name, UPLOAD_LIMITS)));
  return withHeader("xlsx", sheet, book.streamRows(sheet, UPLOAD_LIMITS) ?? fail(DAMAGED), metadata);
}

// Loaded only for .xls and .ods: it is a third of the reading child's start-up.
const sheetJs = (): typeof XLSX => require("xlsx");

/** .xls and .ods: SheetJS with everything off that a hostile file could abuse. */
function parseWithSheetJs(bytes: Uint8Array, format: "xls" | "ods", headerOnly: boolean, kind: (typeof KINDS)[UploadKind]): Promise<ParsedUpload> {
  let book: XLSX.WorkBook;
  try {
    book = sheetJs().read(bytes, {
      type: "array",
      dense: true,
      cellFormula: false,
      cellHTML: false,
      cellStyles: false,
      cellNF: false,
      cellText: false,
      cellDates: false,
      bookVBA: false,
      sheetRows: headerOnly ? 1 : UPLOAD_LIMITS.maxRows + 1,
    });
  } catch (error) {
    if (/password|encrypt/i.test(String(error))) {
      throw new UploadError("Il file è protetto da password: toglila e ricaricalo.");
    }
    throw new UploadError(DAMAGED);
  }
  const find = (name: string) => {
    const found = book.SheetNames.find((n) => n.toLowerCase() === name.toLowerCase());
    return found === undefined ? undefined : book.Sheets[found];
  };
  const name = chooseSheet(book.SheetNames, kind, (n) => headerOfRows(sheetJsRows(find(n)!, UPLOAD_LIMITS)));
  const metadataSheet = find(SHEET_NAMES.metadata);
  const metadata = metadataSheet ? metadataOf(sheetJsRows(metadataSheet, { maxRows: 50, maxColumns: 2 })) : null;
  return withHeader(format, name, sheetJsRows(find(name)!, UPLOAD_LIMITS), metadata);
}

function* sheetJsRows(sheet: XLSX.WorkSheet, limits: SheetLimits): Generator<SheetRow> {
  const ref = sheet["!ref"];
  if (!ref) return;
  // Clip the declared range first: a sheet may claim A1:XFD1048576 and hold three cells.
  const range = sheetJs().utils.decode_range(ref);
  range.e.c = Math.min(range.e.c, limits.maxColumns - 1);
  range.e.r = Math.min(range.e.r, limits.maxRows);
  const data = (sheet["!data"] ?? []) as (XLSX.CellObject[] | undefined)[];
  let count = 0;
  for (let r = range.s.r; r <= range.e.r && r < data.length; r++) {
    const row = data[r];
    if (!row) continue;
    const cells: RawCell[] = [];
    for (let c = 0; c <= range.e.c && c < row.length; c++) {
      const cell = row[c];
      cells.push(cell === undefined || cell.v === undefined || cell.t === "z" ? null : cell.t === "n" ? Number(cell.v) : String(cell.v));
    }
    if (cells.every((c) => c === null || c === "")) continue;
    if (++count > limits.maxRows) {
      throw new UploadError(`Il foglio ha più di ${limits.maxRows - 1} righe: dividilo in più file e caricali uno alla volta.`);
    }
    yield { line: r + 1, cells };
  }
}

const MIXED_ENCODING =
  "Il file CSV mescola codifiche di caratteri diverse (alcune lettere accentate risulterebbero alterate): aprilo nel programma di calcolo, salvalo di nuovo come «CSV UTF-8» oppure in formato .xlsx e ricaricalo.";

// Bytes that Windows-1252 leaves undefined: a text that has them is not Windows-1252.
const UNDEFINED_IN_1252 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/** Whether the bytes hold a well-formed UTF-8 sequence of two or more bytes. */
function hasUtf8Sequence(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const lead = bytes[i]!;
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) continue;
    let continued = true;
    for (let k = 1; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) continued = false;
    if (continued) return true;
  }
  return false;
}

/**
 * UTF-8 with or without BOM; otherwise Windows-1252, as Excel saves CSV in Italy. A file
 * that is neither (UTF-8 sequences beside bytes UTF-8 cannot hold) is refused rather than
 * read with garbled letters.
 */
export function decodeText(bytes: Uint8Array): string {
  const withoutBom = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? bytes.subarray(3) : bytes;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(withoutBom);
  } catch {
    if (withoutBom !== bytes || hasUtf8Sequence(withoutBom) || withoutBom.some((b) => UNDEFINED_IN_1252.has(b))) fail(MIXED_ENCODING);
    return new TextDecoder("windows-1252").decode(withoutBom);
  }
}

/** `;` or `,`, whichever the header line uses more outside quotes. */
export function detectDelimiter(firstLine: string): ";" | "," {
  let semicolons = 0;
  let commas = 0;
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ";") semicolons++;
    else if (!quoted && ch === ",") commas++;
  }
  return commas > semicolons ? "," : ";";
}

export function* csvRecords(text: string, delimiter: string): Generator<string[]> {
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === delimiter) {
      record.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      yield record;
      record = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || record.length) {
    record.push(field);
    yield record;
  }
}

function parseCsv(bytes: Uint8Array, sheet: string): Promise<ParsedUpload> {
  const text = decodeText(bytes);
  const delimiter = detectDelimiter(text.slice(0, text.search(/\r|\n|$/)));
  function* rows(): Generator<ParsedRow> {
    let line = 0;
    for (const record of csvRecords(text, delimiter)) {
      line++;
      if (line > UPLOAD_LIMITS.maxRows + 1) {
        throw new UploadError(`Il file ha più di ${UPLOAD_LIMITS.maxRows - 1} righe: dividilo in più file e caricali uno alla volta.`);
      }
      yield { line, cells: record.slice(0, UPLOAD_LIMITS.maxColumns) };
    }
  }
  return withHeader("csv", sheet, rows(), null);
}
