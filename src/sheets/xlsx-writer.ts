import { excelSerial } from "./cells.ts";
import { ZipWriter, type ZipEntry } from "./zip-writer.ts";

/*
 * A streaming .xlsx writer. SheetJS builds the whole workbook in memory before writing
 * it (see bench/export.ts for the figures on 100,000 rows); this writes each row as XML
 * into a deflate stream, so memory stays flat whatever the size.
 */

export const Style = { general: 0, header: 1, text: 2, date: 3, locked: 4, bold: 5 } as const;
export type StyleId = (typeof Style)[keyof typeof Style];

/** A cell: text, a number, an ISO date (YYYY-MM-DD) written as a real date, or empty. */
export type CellValue = string | number | { date: string } | null;

export type SheetSpec = {
  name: string;
  hidden?: boolean;
  /** Width in characters and default style of each column. */
  columns: { width: number; style?: StyleId }[];
  /** Freeze the first row and put a filter on it. */
  header?: boolean;
  /** Drop-down lists, by zero-based column index. */
  lists?: { column: number; values: string[] }[];
};

const MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const FLUSH_AT = 256 * 1024;

// A CR written as itself becomes LF for every XML reader; as a reference it stays a CR.
const UNSAFE_XML = /[&<>"\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

export function escapeXml(text: string): string {
  if (!UNSAFE_XML.test(text)) return text;
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/\r/g, "&#13;");
}

export function columnLetter(index: number): string {
  let n = index + 1;
  let letters = "";
  while (n > 0) {
    const rest = (n - 1) % 26;
    letters = String.fromCharCode(65 + rest) + letters;
    n = Math.floor((n - 1) / 26);
  }
  return letters;
}

const STYLES_XML = `${XML_HEAD}<styleSheet xmlns="${MAIN_NS}">\
<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>\
<fills count="4"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFDDE4EC"/><bgColor indexed="64"/></patternFill></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFEDEDED"/><bgColor indexed="64"/></patternFill></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="6">\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="49" fontId="1" fillId="2" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1" applyFill="1"/>\
<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="49" fontId="0" fillId="3" borderId="0" xfId="0" applyNumberFormat="1" applyFill="1"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`;

// What follows a cell's reference: the quote that closes it and the style, by style id.
const STYLE_ATTRIBUTE: string[] = [];
for (const id of Object.values(Style)) STYLE_ATTRIBUTE[id] = id ? `" s="${id}"` : '"';
const TEXT = ' t="inlineStr"><is><t>';
const TEXT_PRESERVED = ' t="inlineStr"><is><t xml:space="preserve">';
const TEXT_END = "</t></is></c>";

/** Whether XML would drop the text's leading or trailing white space. */
const padded = (text: string) => text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32;

export class XlsxStreamWriter {
  private zip: ZipWriter;
  private encoder = new TextEncoder();
  private entry: ZipEntry | null = null;
  private sheet: SheetSpec | null = null;
  private opens: string[] = [];
  private columnStyles: StyleId[] = [];
  private parts: string[] = [];
  private partsLength = 0;
  private rowNumber = 0;
  private written: { spec: SheetSpec; rows: number }[] = [];

  /** `sink` receives the file's bytes in order. */
  constructor(
    sink: (chunk: Uint8Array) => void,
    private sheets: readonly SheetSpec[],
  ) {
    this.zip = new ZipWriter(sink);
    this.addFile("[Content_Types].xml", this.contentTypes());
    this.addFile(
      "_rels/.rels",
      `${XML_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="${REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    );
    this.addFile("xl/styles.xml", STYLES_XML);
  }

  startSheet(name: string): void {
    if (this.entry) throw new Error("the previous sheet is still open");
    const index = this.written.length;
    const spec = this.sheets[index];
    if (!spec || spec.name !== name) throw new Error(`sheet ${name} is not the next one declared`);
    this.sheet = spec;
    this.rowNumber = 0;
    this.opens = spec.columns.map((_, i) => `<c r="${columnLetter(i)}`);
    this.columnStyles = spec.columns.map((c) => c.style ?? Style.general);
    this.entry = this.zip.entry(`xl/worksheets/sheet${index + 1}.xml`);
    const pane = spec.header
      ? '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/>'
      : "";
    const cols = spec.columns
      .map((c, i) => `<col min="${i + 1}" max="${i + 1}" width="${c.width}" customWidth="1"${c.style ? ` style="${c.style}"` : ""}/>`)
      .join("");
    this.append(
      `${XML_HEAD}<worksheet xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><sheetViews><sheetView workbookViewId="0"${index === 0 ? ' tabSelected="1"' : ""}>${pane}</sheetView></sheetViews>\
<sheetFormatPr defaultRowHeight="15"/><cols>${cols}</cols><sheetData>`,
    );
  }

  /** One row; `styles[i]` styles cell i (the column's style when absent). */
  row(values: readonly CellValue[], styles?: readonly (StyleId | undefined)[]): void {
    // Built from fixed pieces per column: at 100,000 rows × 15 cells the number of string
    // pieces joined is a large part of the export's time.
    const r = String(++this.rowNumber);
    let xml = '<row r="' + r + '">';
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const style = styles?.[i] ?? this.columnStyles[i] ?? Style.general;
      const open = (this.opens[i] ??= `<c r="${columnLetter(i)}`) + r;
      if (value === null || value === undefined || value === "") {
        if (style) xml += open + STYLE_ATTRIBUTE[style] + "/>";
      } else if (typeof value === "string") {
        xml += open + STYLE_ATTRIBUTE[style] + (padded(value) ? TEXT_PRESERVED : TEXT) + escapeXml(value) + TEXT_END;
      } else if (typeof value === "number") {
        xml += open + STYLE_ATTRIBUTE[style] + "><v>" + value + "</v></c>";
      } else {
        xml += open + STYLE_ATTRIBUTE[style || Style.date] + "><v>" + excelSerial(value.date) + "</v></c>";
      }
    }
    this.append(xml + "</row>");
  }

  endSheet(): void {
    const spec = this.sheet!;
    const lastColumn = columnLetter(spec.columns.length - 1);
    const lastRow = Math.max(this.rowNumber, 1);
    let tail = "</sheetData>";
    if (spec.header) tail += `<autoFilter ref="A1:${lastColumn}${lastRow}"/>`;
    if (spec.lists?.length && this.rowNumber > 1) {
      tail += `<dataValidations count="${spec.lists.length}">`;
      for (const list of spec.lists) {
        const col = columnLetter(list.column);
        tail += `<dataValidation type="list" allowBlank="1" showErrorMessage="1" sqref="${col}2:${col}${lastRow}">\
<formula1>"${escapeXml(list.values.join(","))}"</formula1></dataValidation>`;
      }
      tail += "</dataValidations>";
    }
    tail += '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>';
    this.append(tail);
    this.flush();
    this.entry!.end();
    this.written.push({ spec, rows: this.rowNumber });
    this.entry = null;
    this.sheet = null;
  }

  /** Writes the workbook parts and ends the zip: every byte has reached the sink when it returns. */
  finish(): void {
    if (this.entry) throw new Error("a sheet is still open");
    if (this.written.length !== this.sheets.length) throw new Error("not every declared sheet was written");
    const sheetsXml = this.written
      .map(({ spec }, i) => `<sheet name="${escapeXml(spec.name)}" sheetId="${i + 1}"${spec.hidden ? ' state="hidden"' : ""} r:id="rId${i + 1}"/>`)
      .join("");
    const filters = this.written
      .map(({ spec, rows }, i) =>
        spec.header
          ? `<definedName name="_xlnm._FilterDatabase" localSheetId="${i}" hidden="1">'${spec.name.replace(/'/g, "''")}'!$A$1:$${columnLetter(spec.columns.length - 1)}$${Math.max(rows, 1)}</definedName>`
          : "",
      )
      .join("");
    this.addFile(
      "xl/workbook.xml",
      `${XML_HEAD}<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><bookViews><workbookView activeTab="0"/></bookViews>\
<sheets>${sheetsXml}</sheets>${filters ? `<definedNames>${filters}</definedNames>` : ""}</workbook>`,
    );
    const rels = this.written
      .map((_, i) => `<Relationship Id="rId${i + 1}" Type="${REL_NS}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`)
      .join("");
    this.addFile(
      "xl/_rels/workbook.xml.rels",
      `${XML_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rels}\
<Relationship Id="rId${this.written.length + 1}" Type="${REL_NS}/styles" Target="styles.xml"/></Relationships>`,
    );
    this.zip.finish();
  }

  private contentTypes(): string {
    const sheets = this.sheets
      .map(
        (_, i) =>
          `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`,
      )
      .join("");
    return `${XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>${sheets}</Types>`;
  }

  private addFile(name: string, content: string): void {
    this.zip.file(name, this.encoder.encode(content));
  }

  private append(xml: string): void {
    this.parts.push(xml);
    this.partsLength += xml.length;
    if (this.partsLength >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    this.entry!.write(this.encoder.encode(this.parts.join("")));
    this.parts = [];
    this.partsLength = 0;
  }
}
