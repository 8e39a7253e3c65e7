import { expect, test } from "bun:test";
import { strToU8, zipSync } from "fflate";
import { XlsxBook } from "../../src/sheets/xlsx-reader.ts";
import { ZipArchive } from "../../src/sheets/zip-guard.ts";

/** A book of one sheet "Allievi" with the given rows' XML and shared strings. */
function book(rows: string, shared: string[] = []): XlsxBook {
  const zip = zipSync({
    "xl/workbook.xml": strToU8(`<workbook><sheets><sheet name="Allievi" sheetId="1" r:id="rId1"/></sheets></workbook>`),
    "xl/_rels/workbook.xml.rels": strToU8(`<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>`),
    "xl/worksheets/sheet1.xml": strToU8(`<worksheet><sheetData>${rows}</sheetData></worksheet>`),
    "xl/sharedStrings.xml": strToU8(`<sst>${shared.map((s) => `<si>${s}</si>`).join("")}</sst>`),
  });
  return new XlsxBook(new ZipArchive(zip));
}

const cellsOf = (b: XlsxBook) => [...b.rows("Allievi", { maxRows: 100, maxColumns: 20 })!].map((r) => [r.line, r.cells]);
const inline = (ref: string, content: string) => `<c r="${ref}" t="inlineStr">${content}</c>`;

test("texts are read whatever their runs: plain, with entities, kept spaces, rich runs, phonetic hints, empty", () => {
  const row = [
    inline("A1", "<is><t>plain</t></is>"),
    inline("B1", "<is><t>D&apos;Amico &amp; figli &lt;srl&gt;</t></is>"),
    inline("C1", '<is><t xml:space="preserve">  spazi  </t></is>'),
    inline("D1", "<is><r><t>ri</t></r><r><rPr><b/></rPr><t>cco</t></r></is>"),
    inline("E1", "<is><t>漢字</t><rPh sb=\"0\" eb=\"1\"><t>かんじ</t></rPh></is>"),
    inline("F1", "<is><t></t></is>"),
    inline("G1", "<is><t/></is>"),
    inline("H1", "<is><t>a</t><t>b</t></is>"),
    inline("I1", "<is><t>&#x41;&#66;</t></is>"),
  ].join("");
  expect(cellsOf(book(`<row r="1">${row}</row>`))).toEqual([[1, ["plain", "D'Amico & figli <srl>", "  spazi  ", "ricco", "漢字", "", "", "ab", "AB"]]]);
});

test("shared strings are read the same ways", () => {
  const shared = ["<t>plain</t>", "<t>a&amp;b</t>", '<t xml:space="preserve"> x </t>', "<r><t>ri</t></r><r><t>cco</t></r>", "<t>漢</t><rPh><t>かん</t></rPh>", "<t/>"];
  const row = shared.map((_, i) => `<c r="${String.fromCharCode(65 + i)}2" t="s"><v>${i}</v></c>`).join("");
  expect(cellsOf(book(`<row r="2">${row}</row>`, shared))).toEqual([[2, ["plain", "a&b", " x ", "ricco", "漢", ""]]]);
});

test("cells are placed by their reference in any attribute order, or one after another without it", () => {
  const rows = [
    `<row r="3"><c t="inlineStr" s="1" r="C3"><is><t>terza</t></is></c><c s="2" r="E3"><v>42</v></c></row>`,
    `<row><c t="inlineStr"><is><t>prima</t></is></c><c><v>7</v></c><c t="b"><v>1</v></c></row>`,
  ].join("");
  expect(cellsOf(book(rows))).toEqual([
    [3, [null, null, "terza", null, 42]],
    [4, ["prima", 7, "TRUE"]],
  ]);
});

// Without a bound the search for a cell's attributes ran on to the next cell that has them:
// this sheet took 23 s instead of a tenth of a second, past the test's own time limit.
test("a large sheet of numbers without a type, in cells and rows without a reference, is read in one pass", () => {
  const numbers = Array.from({ length: 8 }, (_, i) => `<c r="${String.fromCharCode(65 + i)}1" s="1"><v>${i}</v></c>`).join("");
  const bare = "<c><v>7</v></c>";
  const rows = Array.from({ length: 20_000 }, (_, i) => (i % 2 ? `<row>${bare}${bare}</row>` : `<row r="${i + 1}">${numbers.replaceAll("1\"", `${i + 1}"`)}</row>`)).join("");
  const read = [...book(rows).rows("Allievi", { maxRows: 30_000, maxColumns: 20 })!];
  expect(read).toHaveLength(20_000);
  expect(read[0]).toEqual({ line: 1, cells: [0, 1, 2, 3, 4, 5, 6, 7] });
  expect(read[1]).toEqual({ line: 2, cells: [7, 7] });
});

test("a sheet read as a stream gives the same rows as read whole: rows across pieces, a row longer than a slice, the end of the data", async () => {
  const rows: string[] = [];
  for (let r = 1; r <= 60_000; r++) rows.push(`<row r="${r}">${inline(`A${r}`, `<is><t>riga ${r} ${"x".repeat(r % 37)}</t></is>`)}<c r="B${r}"><v>${r * 3}</v></c></row>`);
  // A row of 3 MB: longer than the slices the sheet is read in.
  rows.splice(30_000, 0, `<row r="30000">${inline("A30000", `<is><t>${"lungo ".repeat(500_000)}</t></is>`)}</row>`);
  const sheet = book(`${rows.join("")}</sheetData><sheetData><row r="70000"><c r="A70000"><v>1</v></c></row>`);
  const limits = { maxRows: 100_000, maxColumns: 20 };
  const streamed = [];
  for await (const row of sheet.streamRows("Allievi", limits)!) streamed.push(row);
  const whole = [...sheet.rows("Allievi", limits)!];
  expect(streamed.length).toBe(60_001);
  expect(streamed).toEqual(whole);
  // The long row, after row 30000, repeats its number: it and the rows after it are counted on from there.
  expect(streamed.at(-1)).toEqual({ line: 60_001, cells: ["riga 60000 " + "x".repeat(60_000 % 37), 180_000] });
  expect(String(streamed.find((r) => r.line === 30_001)!.cells[0])).toStartWith("lungo lungo");
  expect(sheet.streamRows("Altro", limits)).toBeNull();
});
