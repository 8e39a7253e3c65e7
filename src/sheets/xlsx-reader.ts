import { UploadError } from "./upload-error.ts";
import type { ZipArchive } from "./zip-guard.ts";

/*
 * A reader for the sheets we expect in an .xlsx, written because SheetJS needs seconds and
 * hundreds of megabytes for a 100,000-row file that this reads in a fraction of both
 * (bench/import.ts prints the figures). It reads shared and inline strings, numbers,
 * booleans and errors, reports formulas instead of evaluating them, and ignores styles
 * and everything else. .xls and .ods still go through SheetJS.
 */

/** A cell: text, a number, or a formula (reported, never evaluated). */
export type RawCell = string | number | { formula: true } | null;

export type SheetLimits = { maxRows: number; maxColumns: number };

/** A non-blank row and its number as the spreadsheet shows it. */
export type SheetRow = { line: number; cells: RawCell[] };

const ENTITY = /&(?:#x([0-9a-fA-F]+)|#(\d+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeXml(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(ENTITY, (_, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name) return NAMED[name]!;
    const code = hex ? parseInt(hex, 16) : Number(dec);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : "";
  });
}

/** The text of `<t>…</t>` or `<is><t>…</t></is>` with nothing else inside, or null. */
function plainRun(xml: string): string | null {
  const from = xml.startsWith("<is>") ? 4 : 0;
  const to = from ? xml.length - 5 : xml.length;
  if ((from && !xml.endsWith("</is>")) || !xml.startsWith("<t>", from) || to - from < 7 || !xml.startsWith("</t>", to - 4)) return null;
  const text = xml.slice(from + 3, to - 4);
  return text.includes("<") ? null : text;
}

/** The text of an `<si>` or `<is>`: every run's `<t>`, without phonetic hints. */
function richText(xml: string): string {
  // One plain run, as spreadsheet programs and our own files write most texts, is read
  // without the search below: it was a third of a large sheet's reading (bench:import).
  const run = plainRun(xml);
  if (run !== null) return decodeXml(run);
  const plain = xml.includes("<rPh") ? xml.replace(/<rPh\b[\s\S]*?<\/rPh>/g, "") : xml;
  let text = "";
  let at = plain.indexOf("<t");
  while (at !== -1) {
    const open = plain.indexOf(">", at);
    if (open === -1) break;
    if (plain[open - 1] === "/") {
      at = plain.indexOf("<t", open);
      continue;
    }
    const close = plain.indexOf("</t>", open);
    if (close === -1) break;
    // "<tab" or "<text…" are other elements; "<t>" and "<t xml:space…>" are runs.
    const next = plain[at + 2];
    if (next === ">" || next === " ") text += plain.slice(open + 1, close);
    at = plain.indexOf("<t", close + 4);
  }
  return decodeXml(text);
}

/** The value of `name="…"` inside one tag's text, by plain search. */
function attribute(tag: string, name: string): string | undefined {
  return attributeIn(tag, ` ${name}="`, 0, tag.length);
}

/**
 * The value of the attribute whose ` name="` is `key`, in the tag between `from` and `to`
 * of the sheet's text. Searched within the tag only: a search of the sheet from the tag on
 * ran to the next cell that has the attribute, and a sheet of numbers without ` t="` (as
 * Excel writes them) or of cells without ` r="` took time as the square of its size. By
 * hand rather than on a slice of the tag: the slices were a fifth of a large sheet's reading.
 */
function attributeIn(xml: string, key: string, from: number, to: number): string | undefined {
  const start = keyEnd(xml, key, from, to);
  if (start === -1) return undefined;
  for (let end = start; end < to; end++) if (xml.charCodeAt(end) === 34) return xml.slice(start, end);
  return undefined;
}

/** Where the value of `key` starts inside the tag between `from` and `to`, or -1. */
function keyEnd(xml: string, key: string, from: number, to: number): number {
  for (let at = from, last = to - key.length; at <= last; at++) {
    if (xml.charCodeAt(at) === 32 && xml.startsWith(key, at)) return at + key.length;
  }
  return -1;
}

/**
 * The column of the cell reference inside the tag (`r="BC12"` is 54; -1 when it starts
 * without a letter), or undefined when the tag has none.
 */
function columnIn(xml: string, from: number, to: number): number | undefined {
  const start = keyEnd(xml, REF, from, to);
  if (start === -1) return undefined;
  let end = start;
  while (end < to && xml.charCodeAt(end) !== 34) end++;
  if (end === to || end === start) return undefined;
  let index = 0;
  for (let at = start; at < end; at++) {
    const code = xml.charCodeAt(at);
    if (code < 65 || code > 90) break;
    index = index * 26 + (code - 64);
  }
  return index - 1;
}

const REF = ' r="';
const TYPE = ' t="';

/** The next `<name` that is that element, not one whose name merely starts the same. */
function nextTag(xml: string, open: string, from: number): number {
  let at = xml.indexOf(open, from);
  while (at !== -1) {
    const after = xml.charCodeAt(at + open.length);
    if (after === 32 || after === 62 || after === 47 || after === 9 || after === 10 || after === 13) return at;
    at = xml.indexOf(open, at + open.length);
  }
  return -1;
}

const decoder = new TextDecoder();
const SLICE_BYTES = 1024 * 1024;

export class XlsxBook {
  readonly sheetNames: string[] = [];
  private sheetPaths = new Map<string, string>();
  private shared: string[] | undefined;

  constructor(private zip: ZipArchive) {
    if (zip.names.includes("xl/vbaProject.bin")) {
      throw new UploadError("Il file contiene macro: salvalo come cartella di lavoro Excel senza macro (.xlsx) e ricaricalo.");
    }
    const workbook = this.text("xl/workbook.xml");
    if (workbook === null) {
      throw new UploadError("Il file non è una cartella di lavoro Excel valida: salvalo di nuovo in formato .xlsx e ricaricalo.");
    }
    const targets = new Map<string, string>();
    for (const [tag] of (this.text("xl/_rels/workbook.xml.rels") ?? "").matchAll(/<Relationship\b[^>]*>/g)) {
      const id = attribute(tag, "Id");
      const target = attribute(tag, "Target");
      if (id && target) targets.set(id, target.startsWith("/") ? target.slice(1) : `xl/${target}`);
    }
    for (const [tag] of workbook.matchAll(/<sheet\b[^>]*>/g)) {
      const name = decodeXml(attribute(tag, "name") ?? "");
      const path = targets.get(tag.match(/\s\w+:id="([^"]*)"/)?.[1] ?? "");
      this.sheetNames.push(name);
      if (path) this.sheetPaths.set(name, path);
    }
  }

  private text(path: string): string | null {
    const bytes = this.zip.read(path);
    return bytes === null ? null : decoder.decode(bytes);
  }

  /** The rows of a sheet by name (case-insensitive), or null when there is no such sheet. */
  rows(sheetName: string, limits: SheetLimits): Iterable<SheetRow> | null {
    const path = this.pathOf(sheetName);
    const bytes = path === undefined ? null : this.zip.read(path);
    if (bytes === null) return null;
    const slicer = new SheetSlicer(this.sharedStrings(), limits);
    return (function* () {
      for (let at = 0; at < bytes.length && !slicer.done; at += SLICE_BYTES) yield* slicer.push(bytes.subarray(at, at + SLICE_BYTES));
      yield* slicer.end();
    })();
  }

  /**
   * The same rows, the sheet inflated as they are read: what a large sheet holds in memory
   * is a slice of it, not all of it. Null when there is no such sheet.
   */
  streamRows(sheetName: string, limits: SheetLimits): AsyncIterable<SheetRow> | null {
    const path = this.pathOf(sheetName);
    if (path === undefined || !this.zip.names.includes(path)) return null;
    const slicer = new SheetSlicer(this.sharedStrings(), limits);
    const pieces = this.zip.stream(path);
    return (async function* () {
      // Read to the end even past the sheet's data: the entry's CRC is checked there.
      for await (const piece of pieces) yield* slicer.push(piece);
      yield* slicer.end();
    })();
  }

  private pathOf(sheetName: string): string | undefined {
    const name = this.sheetNames.find((n) => n.toLowerCase() === sheetName.toLowerCase());
    return name === undefined ? undefined : this.sheetPaths.get(name);
  }

  private sharedStrings(): string[] {
    if (!this.shared) {
      this.shared = [];
      const xml = this.text("xl/sharedStrings.xml") ?? "";
      let at = xml.indexOf("<si");
      while (at !== -1) {
        const open = xml.indexOf(">", at);
        if (open === -1) break;
        if (xml[open - 1] === "/") {
          this.shared.push("");
          at = xml.indexOf("<si", open);
          continue;
        }
        const close = xml.indexOf("</si>", open);
        if (close === -1) break;
        this.shared.push(richText(xml.slice(open + 1, close)));
        at = xml.indexOf("<si", close);
      }
    }
    return this.shared;
  }
}

/**
 * Turns a sheet's bytes, given a piece at a time, into its rows: each slice decoded ends on
 * a row boundary, so that the 80 MB of XML of a large sheet never becomes one string, and
 * the reading child can inflate the sheet as it goes instead of holding all of it (one
 * slicer serves the sheet read whole and the sheet read as a stream). A row that runs past
 * a slice waits for more bytes; the wait doubles each time, so that a long row costs time
 * in proportion to its size.
 */
class SheetSlicer {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private wanted = SLICE_BYTES;
  private started = false;
  private line = 0;
  private count = 0;
  /** Past the end of the sheet's data: what follows is not scanned. */
  done = false;

  constructor(
    private shared: string[],
    private limits: SheetLimits,
  ) {}

  *push(piece: Uint8Array): Generator<SheetRow> {
    if (this.done || piece.length === 0) return;
    this.pending.push(piece);
    this.pendingBytes += piece.length;
    if (this.pendingBytes >= this.wanted) yield* this.take(false);
  }

  *end(): Generator<SheetRow> {
    if (!this.done) yield* this.take(true);
    this.done = true;
  }

  private *take(last: boolean): Generator<SheetRow> {
    const [only] = this.pending;
    let buffer = this.pending.length === 1 ? Buffer.from(only!.buffer, only!.byteOffset, only!.byteLength) : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.started) {
      const at = buffer.indexOf("<sheetData");
      // Kept: the start of "<sheetData" may be at the end of this piece.
      if (at === -1) return this.keep(buffer.subarray(Math.max(0, buffer.length - 9)), false);
      buffer = buffer.subarray(at);
      this.started = true;
    }
    const end = buffer.indexOf("</sheetData>");
    if (end !== -1) {
      buffer = buffer.subarray(0, end);
      this.done = true;
    }
    let to = buffer.length;
    if (!this.done && !last) {
      const boundary = buffer.lastIndexOf("</row>");
      if (boundary === -1) return this.keep(buffer, true);
      to = boundary + 6;
    }
    this.keep(buffer.subarray(to), false);
    yield* this.scan(buffer.toString("utf8", 0, to));
  }

  private keep(rest: Buffer, waitLonger: boolean): void {
    if (rest.length) {
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
    this.wanted = waitLonger ? rest.length * 2 : SLICE_BYTES;
  }

  /** The rows of one slice, which ends on a row boundary. */
  private *scan(xml: string): Generator<SheetRow> {
    const { maxRows, maxColumns } = this.limits;
    let at = nextTag(xml, "<row", 0);
    while (at !== -1) {
      const tagEnd = xml.indexOf(">", at);
      if (tagEnd === -1) break;
      const number = Number(attributeIn(xml, REF, at, tagEnd));
      this.line = Number.isInteger(number) && number > this.line ? number : this.line + 1;
      if (xml[tagEnd - 1] === "/") {
        at = nextTag(xml, "<row", tagEnd);
        continue;
      }
      const rowEnd = xml.indexOf("</row>", tagEnd);
      if (rowEnd === -1) break;
      const cells = scanCells(xml, tagEnd + 1, rowEnd, this.shared, maxColumns, this.line);
      at = nextTag(xml, "<row", rowEnd);
      if (!cells) continue;
      if (++this.count > maxRows) {
        throw new UploadError(`Il foglio ha più di ${maxRows - 1} righe: dividilo in più file e caricali uno alla volta.`);
      }
      yield { line: this.line, cells };
    }
  }
}

/**
 * The cells between `from` and `to` (the row's end), or null when none holds a value. A
 * cell that is not closed within its row makes the file unreadable: every step of the loop
 * moves forward, and never past the row.
 */
function scanCells(xml: string, from: number, to: number, shared: string[], maxColumns: number, line: number): RawCell[] | null {
  const cells: RawCell[] = [];
  let filled = false;
  let next = 0;
  let at = nextTag(xml, "<c", from);
  while (at !== -1 && at < to) {
    const tagEnd = xml.indexOf(">", at);
    if (tagEnd === -1 || tagEnd > to) throw unclosedCell(line);
    const index = columnIn(xml, at, tagEnd) ?? next;
    next = index + 1;
    let content = "";
    let after = tagEnd + 1;
    if (xml[tagEnd - 1] !== "/") {
      const close = xml.indexOf("</c>", tagEnd);
      if (close === -1 || close > to) throw unclosedCell(line);
      content = xml.slice(tagEnd + 1, close);
      after = close + 4;
    }
    if (index >= 0 && index < maxColumns) {
      const value = cellValue(attributeIn(xml, TYPE, at, tagEnd), content, shared);
      if (value !== null) {
        while (cells.length < index) cells.push(null);
        cells[index] = value;
        filled = true;
      }
    }
    at = nextTag(xml, "<c", after);
  }
  return filled ? cells : null;
}

const unclosedCell = (line: number) =>
  new UploadError(
    `Il file è danneggiato: alla riga ${line} del foglio una cella non è chiusa. Salvalo di nuovo dal programma di calcolo e ricaricalo.`,
  );

function cellValue(type: string | undefined, content: string, shared: string[]): RawCell {
  if (content === "") return null;
  if (content.includes("<f")) return { formula: true };
  if (type === "inlineStr") return richText(content);
  // "<v>" or "<v xml:space=…>": the value starts after the tag, whatever its attributes.
  const tag = nextTag(content, "<v", 0);
  if (tag === -1) return null;
  const start = content.indexOf(">", tag) + 1;
  if (content[start - 2] === "/") return null;
  const raw = content.slice(start, content.indexOf("</v>", start));
  switch (type) {
    case "s":
      return shared[Number(raw)] ?? null;
    case "str":
    case "e":
    case "d":
      return decodeXml(raw);
    case "b":
      return raw === "1" ? "TRUE" : "FALSE";
    default: {
      const number = Number(raw);
      return raw !== "" && Number.isFinite(number) ? number : decodeXml(raw);
    }
  }
}
