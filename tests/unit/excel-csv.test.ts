import { describe, expect, test } from "bun:test";
import { excelCsvEnglish, excelCsvItalian, type ExcelCsvCell } from "../helpers/excel-csv.ts";

const rows: ExcelCsvCell[][] = [
  ["Codice fiscale", "Data assunzione", "Datore di lavoro", "Ore"],
  ["RSSMRA80A01H501U", { date: "2020-01-03" }, "Società Rossi; Bianchi, \"RB\"", 12.5],
  ["VRDLGU75B02F205X", null, "riga1\nriga2", 7],
];

const bytes = (text: string) => [...text].map((ch) => ch.charCodeAt(0));

describe("excelCsvEnglish", () => {
  test("commas, m/d/yyyy, UTF-8 without BOM, CRLF, quotes only where needed", () => {
    const expected =
      'Codice fiscale,Data assunzione,Datore di lavoro,Ore\r\n' +
      'RSSMRA80A01H501U,1/3/2020,"Società Rossi; Bianchi, ""RB""",12.5\r\n' +
      'VRDLGU75B02F205X,,"riga1\nriga2",7\r\n';
    const out = excelCsvEnglish(rows);
    expect([...out]).toEqual([...new TextEncoder().encode(expected)]);
    expect(out[0]).not.toBe(0xef);
    // "à" is two bytes in UTF-8.
    expect(Buffer.from(out).includes(Buffer.from([0xc3, 0xa0]))).toBe(true);
  });

  test("a field with only a semicolon is not quoted", () => {
    expect(new TextDecoder().decode(excelCsvEnglish([["a;b", { date: "2019-10-24" }]]))).toBe("a;b,10/24/2019\r\n");
  });
});

describe("excelCsvItalian", () => {
  test("semicolons, dd/mm/yyyy, Windows-1252, CRLF, quotes only where needed", () => {
    const expected =
      "Codice fiscale;Data assunzione;Datore di lavoro;Ore\r\n" +
      'RSSMRA80A01H501U;03/01/2020;"Societ\xe0 Rossi; Bianchi, ""RB""";12,5\r\n' +
      'VRDLGU75B02F205X;;"riga1\nriga2";7\r\n';
    expect([...excelCsvItalian(rows)]).toEqual(bytes(expected));
  });

  test("a field with only a comma is not quoted", () => {
    expect([...excelCsvItalian([["a,b", { date: "2019-10-24" }]])]).toEqual(bytes("a,b;24/10/2019\r\n"));
  });

  test("throws on a character Windows-1252 cannot hold", () => {
    expect(() => excelCsvItalian([["Łódź"]])).toThrow();
  });

  test("throws on a date that is not ISO", () => {
    expect(() => excelCsvItalian([[{ date: "03/01/2020" }]])).toThrow();
    expect(() => excelCsvEnglish([[{ date: "2020-13-01" }]])).toThrow();
    expect(() => excelCsvEnglish([[{ date: "2019-02-29" }]])).toThrow();
  });
});
