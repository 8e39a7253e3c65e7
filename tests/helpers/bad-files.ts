/*
 * Hostile or broken spreadsheets, built from real exports or by hand, for the upload tests.
 * Pure byte work: nothing here touches the app.
 */
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from "fflate";
import * as XLSX from "xlsx";

export type Rows = unknown[][];

/** The rows of a sheet as arrays, raw values (numbers stay numbers), "" for blanks. */
export function sheetRows(book: XLSX.WorkBook, name: string): Rows {
  return XLSX.utils.sheet_to_json<unknown[]>(book.Sheets[name]!, { header: 1, defval: "", raw: true });
}

/** Reads an .xlsx, lets `edit` change the workbook, and writes it back as .xlsx. */
export function editXlsx(bytes: Uint8Array, edit: (book: XLSX.WorkBook) => void): Uint8Array {
  const book = XLSX.read(bytes, { type: "array", cellFormula: true });
  edit(book);
  return new Uint8Array(XLSX.write(book, { type: "buffer", bookType: "xlsx" }) as Buffer);
}

/** Replaces the rows of one sheet of an .xlsx (the other sheets stay as they were). */
export function withRows(bytes: Uint8Array, sheet: string, edit: (rows: Rows) => Rows): Uint8Array {
  return editXlsx(bytes, (book) => {
    book.Sheets[sheet] = XLSX.utils.aoa_to_sheet(edit(sheetRows(book, sheet)));
  });
}

/** Unzips an .xlsx, lets `edit` change its entries, and zips it again. */
export function editZip(bytes: Uint8Array, edit: (entries: Record<string, Uint8Array>) => void, level: 0 | 6 | 9 = 6): Uint8Array {
  const entries = unzipSync(bytes);
  edit(entries);
  const zippable: Zippable = {};
  for (const [name, data] of Object.entries(entries)) zippable[name] = [data, { level }];
  return zipSync(zippable);
}

/** Rewrites the XML text of one entry. */
export function editEntry(bytes: Uint8Array, name: string, edit: (xml: string) => string): Uint8Array {
  return editZip(bytes, (entries) => {
    entries[name] = strToU8(edit(strFromU8(entries[name]!)));
  });
}

/** The first half of the bytes: a download cut short. */
export const truncated = (bytes: Uint8Array) => bytes.slice(0, Math.floor(bytes.length / 2));

/**
 * The same zip with every central-directory entry claiming a quarter of its real compressed
 * and uncompressed size: a reader trusting the headers gets a cut deflate stream.
 */
export function lyingSizes(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  let end = copy.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error("not a zip");
  const count = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  for (let i = 0; i < count; i++) {
    if (view.getUint32(offset, true) !== 0x02014b50) throw new Error("bad central directory");
    view.setUint32(offset + 20, Math.max(1, Math.floor(view.getUint32(offset + 20, true) / 4)), true);
    view.setUint32(offset + 24, Math.max(1, Math.floor(view.getUint32(offset + 24, true) / 4)), true);
    offset += 46 + view.getUint16(offset + 28, true) + view.getUint16(offset + 30, true) + view.getUint16(offset + 32, true);
  }
  return copy;
}

/** A real .xlsx with a VBA project added: what Excel saves as .xlsm. */
export function withMacros(bytes: Uint8Array): Uint8Array {
  return editZip(bytes, (entries) => {
    // A compound document header, as vbaProject.bin really starts.
    const vba = new Uint8Array(4096);
    vba.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    entries["xl/vbaProject.bin"] = vba;
    const types = strFromU8(entries["[Content_Types].xml"]!);
    entries["[Content_Types].xml"] = strToU8(
      types
        .replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        .replace("</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>'),
    );
  });
}

/** An executable header (Windows or Linux) with NUL bytes, as a file renamed .csv would hold. */
export function executable(kind: "MZ" | "ELF"): Uint8Array {
  const bytes = new Uint8Array(2048);
  if (kind === "MZ") bytes.set([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00]);
  else bytes.set([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]);
  bytes.set(strToU8("This program cannot be run in DOS mode."), 78);
  return bytes;
}

/** What Excel saves for an .xlsx with a password: a compound document holding "EncryptedPackage". */
export function passwordProtected(): Uint8Array {
  const bytes = new Uint8Array(8192).fill(0xff, 8, 512);
  bytes.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  bytes.set(Buffer.from("EncryptionInfo", "utf16le"), 1024);
  bytes.set(Buffer.from("EncryptedPackage", "utf16le"), 1152);
  return bytes;
}

/** A real .xlsx whose trainee sheet inflates to `megabytes` MB of one repeated byte. */
export function zipBomb(bytes: Uint8Array, megabytes = 300): Uint8Array {
  return editZip(
    bytes,
    (entries) => {
      entries["xl/worksheets/sheet1.xml"] = new Uint8Array(megabytes * 1024 * 1024).fill(0x61);
    },
    9,
  );
}

// Windows-1252 for the characters 0x80–0x9F; the rest of Latin-1 is the same code.
const CP1252_EXTRA: Record<string, number> = {
  "€": 0x80, "‚": 0x82, "ƒ": 0x83, "„": 0x84, "…": 0x85, "†": 0x86, "‡": 0x87, "ˆ": 0x88, "‰": 0x89, "Š": 0x8a,
  "‹": 0x8b, "Œ": 0x8c, "Ž": 0x8e, "‘": 0x91, "’": 0x92, "“": 0x93, "”": 0x94, "•": 0x95, "–": 0x96, "—": 0x97,
  "˜": 0x98, "™": 0x99, "š": 0x9a, "›": 0x9b, "œ": 0x9c, "ž": 0x9e, "Ÿ": 0x9f,
};

/** Text as Excel in Italy saves a CSV: Windows-1252. Throws on a character it cannot hold. */
export function windows1252(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  let i = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    const byte = code < 0x80 || (code >= 0xa0 && code <= 0xff) ? code : CP1252_EXTRA[ch];
    if (byte === undefined) throw new Error(`no Windows-1252 byte for ${JSON.stringify(ch)}`);
    out[i++] = byte;
  }
  return out.subarray(0, i);
}

/** `;`-separated CSV lines with CRLF, quoting as Excel does. */
export function csvText(rows: Rows): string {
  const field = (v: unknown) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[";\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => `${r.map(field).join(";")}\r\n`).join("");
}

/** Parses the `;`-separated CSV of an export (UTF-8 with BOM) into rows of strings. */
export function parseExportCsv(bytes: Uint8Array): string[][] {
  const text = new TextDecoder().decode(bytes.subarray(3));
  const book = XLSX.read(text, { type: "string", FS: ";", raw: true, dense: true });
  return XLSX.utils.sheet_to_json<string[]>(book.Sheets[book.SheetNames[0]!]!, { header: 1, defval: "", raw: true }).map((r) =>
    r.map(String),
  );
}

/**
 * A minimal .xlsx with the trainee header and `rows` rows whose `columns` cells all point to
 * one shared string `text`: a few kilobytes that read as far more.
 */
export function sharedStringFile(headers: string[], text: string, options: { rows: number; columns: number; inHeader?: boolean }): Uint8Array {
  const letters = (i: number) => {
    let n = i + 1;
    let s = "";
    while (n > 0) {
      s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
      n = Math.floor((n - 1) / 26);
    }
    return s;
  };
  // With `inHeader`, the header has the trainee columns and then more, all of that text.
  const headerCells = [
    ...headers.map((h, i) => `<c r="${letters(i)}1" t="inlineStr"><is><t>${h}</t></is></c>`),
    ...(options.inHeader ? Array.from({ length: options.columns - headers.length }, (_, k) => `<c r="${letters(headers.length + k)}1" t="s"><v>0</v></c>`) : []),
  ];
  let sheet = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">${headerCells.join("")}</row>`;
  for (let r = 2; r < options.rows + 2; r++) {
    sheet += `<row r="${r}">`;
    for (let c = 0; c < options.columns; c++) sheet += `<c r="${letters(c)}${r}" t="s"><v>0</v></c>`;
    sheet += "</row>";
  }
  sheet += "</sheetData></worksheet>";
  const main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
  const rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
  return zipSync(
    {
      "[Content_Types].xml": strToU8(
        `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>`,
      ),
      "_rels/.rels": strToU8(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>`),
      "xl/workbook.xml": strToU8(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${main}" xmlns:r="${rel}"><sheets><sheet name="Allievi" sheetId="1" r:id="rId1"/></sheets></workbook>`),
      "xl/_rels/workbook.xml.rels": strToU8(
        `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
      ),
      "xl/sharedStrings.xml": strToU8(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="${main}" count="1" uniqueCount="1"><si><t>${text}</t></si></sst>`),
      "xl/worksheets/sheet1.xml": strToU8(sheet),
    },
    { level: 9 },
  );
}
