import { describe, expect, test } from "bun:test";
import { writeTableFile } from "../../src/sheets/table-file.ts";
import { csvLine } from "../../src/sheets/trainee-file.ts";
import { csvRecords } from "../../src/sheets/upload-parse.ts";

const HYPERLINK = 'ACME,=HYPERLINK("http://x")';
const SUM = "ACME,=1+1";

describe("the CSVs we write", () => {
  test.each([
    [HYPERLINK, '"ACME,=HYPERLINK(""http://x"")"'],
    [SUM, '"ACME,=1+1"'],
  ])("%p is quoted, and reads back the same split on `;` or on `,`", (value, quoted) => {
    const line = csvLine([value]);
    expect(line).toBe(`${quoted}\r\n`);
    expect([...csvRecords(line, ";")]).toEqual([[value]]);
    expect([...csvRecords(line, ",")]).toEqual([[value]]);
  });

  test("a table file keeps every field as written, quoting `;`, `,`, quotes and line breaks", async () => {
    const values = [HYPERLINK, SUM, "Rossi; Bianchi", 'detto "il Rosso"', "riga\r\nnuova", "a\nb", "semplice"];
    const chunks: Uint8Array[] = [];
    await writeTableFile("csv", "Prova", [{ header: "Valore", width: 10, value: (v: string) => v }], values, (c) => void chunks.push(c));
    const text = new TextDecoder().decode(Buffer.concat(chunks)).replace(/^\uFEFF/, "");
    expect(text.split("\r\n")[2]).toBe('"ACME,=1+1"');
    expect([...csvRecords(text, ";")]).toEqual([["Valore"], ...values.map((v) => [v])]);
    expect([...csvRecords(text, ",")]).toEqual([["Valore"], ...values.map((v) => [v])]);
    expect([...csvRecords(csvLine(values), ";")]).toEqual([values]);
  });
});
