/*
 * Rows written as Excel's "Save as CSV" writes them, for the upload tests: the comma CSV of
 * Excel in English (United States) and the semicolon CSV of Excel in Italian.
 * Pure byte work: nothing here touches the app.
 *
 * A number is written as String(value) (with a decimal comma in Italian); Excel writes what
 * the cell shows, so a test that wants what a narrow column or a 12-digit number in General
 * format shows (such as 1.23457E+11) passes that text as a string.
 */
import { windows1252 } from "./bad-files.ts";

/** A cell: text, a number, a date cell ({ date: "YYYY-MM-DD" }), or empty. */
export type ExcelCsvCell = string | number | { date: string } | null;

function dateParts(iso: string): [year: string, month: number, day: number] {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  const [, year, month, day] = match ?? [];
  const real = match && new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).toISOString().slice(0, 10) === iso;
  if (!real || !year || !month || !day) throw new Error(`not an ISO date: ${JSON.stringify(iso)}`);
  return [year, Number(month), Number(day)];
}

function csvText(rows: readonly (readonly ExcelCsvCell[])[], options: { separator: string; date: (iso: string) => string; number: (n: number) => string }): string {
  const special = new RegExp(`[${options.separator}"\\r\\n]`);
  const field = (cell: ExcelCsvCell): string => {
    const text = cell === null ? "" : typeof cell === "number" ? options.number(cell) : typeof cell === "string" ? cell : options.date(cell.date);
    return special.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return rows.map((row) => `${row.map(field).join(options.separator)}\r\n`).join("");
}

/**
 * Excel (English, United States) "CSV (Comma delimited)" or "CSV UTF-8" without its BOM:
 * `,`-separated, dates m/d/yyyy without leading zeros, UTF-8, CRLF after every row, a field
 * quoted only when it holds `,` `"` CR or LF (quotes doubled).
 */
export function excelCsvEnglish(rows: readonly (readonly ExcelCsvCell[])[]): Uint8Array {
  const text = csvText(rows, {
    separator: ",",
    date: (iso) => {
      const [year, month, day] = dateParts(iso);
      return `${month}/${day}/${year}`;
    },
    number: (n) => String(n),
  });
  return new TextEncoder().encode(text);
}

/**
 * Excel (Italian) "CSV (delimitato dal separatore di elenco)": `;`-separated, dates dd/mm/yyyy,
 * decimal comma, Windows-1252 (throws on a character it cannot hold), CRLF after every row,
 * a field quoted only when it holds `;` `"` CR or LF (quotes doubled).
 */
export function excelCsvItalian(rows: readonly (readonly ExcelCsvCell[])[]): Uint8Array {
  const text = csvText(rows, {
    separator: ";",
    date: (iso) => {
      const [year, month, day] = dateParts(iso);
      return `${String(day).padStart(2, "0")}/${String(month).padStart(2, "0")}/${year}`;
    },
    number: (n) => String(n).replace(".", ","),
  });
  return windows1252(text);
}
