/*
 * Real clients: LibreOffice Calc, in an Italian and in an English locale, opens a real export
 * that the test has filled in and saves it as every format a clerk might choose. Each saved
 * file, uploaded against the same starting state, must give the same outcome per row and the
 * same enrollments as the filled file itself, or be refused before any row is applied.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isoFromSerial } from "../../src/sheets/cells.ts";
import { columnLetter } from "../../src/sheets/xlsx-writer.ts";
import { excelCsvEnglish, excelCsvItalian, type ExcelCsvCell } from "../helpers/excel-csv.ts";
import {
  bookAndDownload,
  col,
  readRows,
  signedIn,
  tables,
  typeIntoExport,
  uploadAndRun,
  type Sheet,
  type TypedCell,
} from "../helpers/flows.ts";
import {
  convert,
  CSV_IN_SEMICOLON_UTF8,
  CSV_OUT_SEMICOLON_UTF8,
  CSV_OUT_SEMICOLON_WINDOWS1252,
  hasLibreOffice,
  type LibreOfficeLocale,
} from "../helpers/libreoffice.ts";
import { createTestApp, fixtures } from "../helpers/test-app.ts";

// Each soffice start takes a second or two; every file is converted once, then reused.
setDefaultTimeout(240_000);

if (!hasLibreOffice) console.warn("LibreOffice (soffice) is not installed: the real-client tests cannot run here; .ci/run installs it.");

const DATASET = { enrollments: 600 };
const LOCALES: LibreOfficeLocale[] = ["it-IT", "en-US"];
const FORMATS = [
  { name: "xlsx", to: "xlsx" },
  { name: "ods", to: "ods" },
  { name: "xls", to: "xls" },
  { name: "csv UTF-8", to: CSV_OUT_SEMICOLON_UTF8 },
  { name: "csv Windows-1252", to: CSV_OUT_SEMICOLON_WINDOWS1252 },
] as const;

type Result = {
  status: number;
  refusal: string | null;
  jobStatus: string | null;
  sheetName: string | null;
  outcomes: string[];
  enrollments: unknown[];
};

let dir: string;
const files = new Map<string, string>();
let reference: Result;

/** Uploads a file into a new app made like the first one, and says what came of it. */
async function resultOf(bytes: Uint8Array<ArrayBuffer>, name: string): Promise<Result> {
  const t = await createTestApp(DATASET);
  try {
    const clerk = await signedIn(t, fixtures(t.db).rpaA);
    const { answer, job } = await uploadAndRun(t, clerk, bytes, name);
    const { all } = tables(t);
    return {
      status: answer.status,
      refusal: answer.status === 200 ? null : (answer.html.match(/role="alert">\s*([^<]+)/)?.[1] ?? answer.html),
      jobStatus: job ? (job.status === "failed" ? `failed: ${job.error}` : job.status) : null,
      sheetName: job?.sheet_name ?? null,
      outcomes: job
        ? all<{ row_number: number; enrollment_id: number | null; outcome: string; message: string | null }>(
            "SELECT row_number, enrollment_id, outcome, message FROM import_row_outcomes WHERE import_job_id = ? ORDER BY row_number",
            job.id,
          ).map((o) => `${o.row_number} ${o.enrollment_id} ${o.outcome} ${o.message ?? ""}`)
        : [],
      enrollments: all(
        `SELECT id, fascia_debole, placed, hire_date, contract_type, employer_vat, employer_name, revision, updated_by_import_job_id
         FROM enrollments ORDER BY id`,
      ),
    };
  } finally {
    t.close();
  }
}

const read = async (path: string) => new Uint8Array(await Bun.file(path).arrayBuffer());

/** What the test types into the export: one change of every kind a clerk makes. */
function fill(rows: Sheet): { edits: Record<string, TypedCell>; typed: Sheet } {
  const typed = rows.map((r) => [...r]);
  const edits: Record<string, TypedCell> = {};
  const type = (index: number, key: Parameters<typeof col>[0], value: TypedCell) => {
    edits[`${columnLetter(col(key))}${index + 1}`] = value;
    typed[index]![col(key)] = value;
  };
  // Each change on a row of its own.
  const used = new Set<number>();
  const find = (where: (r: unknown[]) => boolean) => {
    const index = rows.findIndex((r, i) => i > 0 && !used.has(i) && where(r));
    expect(index).toBeGreaterThan(0);
    used.add(index);
    return index;
  };
  const mixed = (r: unknown[]) => r[col("homogeneous")] === "NO";
  const unplaced = (r: unknown[]) => mixed(r) && r[col("placed")] === "";
  const placed = (r: unknown[]) => mixed(r) && r[col("placed")] === "SI" && r[col("employerName")] !== "";

  type(find((r) => mixed(r) && r[col("fasciaDebole")] === ""), "fasciaDebole", "giov");
  type(find((r) => mixed(r) && r[col("fasciaDebole")] !== "" && r[col("fasciaDebole")] !== "NO"), "fasciaDebole", "NO");
  // A hire date whose day could pass for a month, and one whose day could not.
  const a = find(unplaced);
  type(a, "placed", "SI");
  type(a, "hireDate", { date: "2020-01-03" });
  type(a, "contractType", "STD");
  type(a, "employerVat", "01234560587");
  type(a, "employerName", "Ospitalità S.r.l.");
  const b = find(unplaced);
  type(b, "placed", "si");
  type(b, "hireDate", { date: "2020-03-24" });
  type(b, "contractType", "DTI");
  type(b, "employerVat", "12345670017");
  type(b, "employerName", "Caffè & Co.");
  type(find(placed), "placed", "NO");
  type(find(placed), "employerName", "-");
  type(find(mixed), "version", "ABC");
  type(find((r) => r[col("homogeneous")] === "SI"), "fasciaDebole", "NO");
  return { edits, typed };
}

/** Rows as Excel writes them to CSV: dates as date cells, everything else as shown. */
const excelCells = (rows: Sheet): ExcelCsvCell[][] =>
  rows.map((row, i) =>
    row.map((v, c) => {
      if (v === "" || v === null || v === undefined) return null;
      if (typeof v === "object") return v as { date: string };
      if (i > 0 && c === col("hireDate") && typeof v === "number") return { date: isoFromSerial(v)! };
      return String(v);
    }),
  );

beforeAll(async () => {
  if (!hasLibreOffice) return;
  dir = mkdtempSync(join(tmpdir(), "placement-real-clients-"));
  const t = await createTestApp(DATASET);
  let xlsx: Uint8Array;
  let csv: Uint8Array;
  try {
    const clerk = await signedIn(t, fixtures(t.db).rpaA);
    xlsx = await bookAndDownload(t, clerk);
    csv = await bookAndDownload(t, clerk, "csv");
  } finally {
    t.close();
  }
  const rows = readRows(xlsx);
  const { edits, typed } = fill(rows);
  // The hire dates typed are after every project's end: the projects of 2019 end within it.
  expect(rows.slice(1).every((r) => String(r[col("projectCode")]).startsWith("2019-"))).toBe(true);
  const filled = typeIntoExport(xlsx, edits);
  writeFileSync(join(dir, "compilato.xlsx"), filled);
  writeFileSync(join(dir, "esportato.csv"), csv);
  files.set("filled", join(dir, "compilato.xlsx"));
  files.set("excel-en", join(dir, "excel-en.csv"));
  files.set("excel-it", join(dir, "excel-it.csv"));
  writeFileSync(files.get("excel-en")!, excelCsvEnglish(excelCells(typed)));
  writeFileSync(files.get("excel-it")!, excelCsvItalian(excelCells(typed)));

  for (const locale of LOCALES) {
    for (const format of FORMATS) {
      const [out] = await convert({ locale, inputs: [files.get("filled")!], to: format.to, outDir: join(dir, locale, format.name) });
      files.set(`${locale} ${format.name}`, out!);
    }
    for (const to of ["xlsx", "ods"]) {
      const [out] = await convert({ locale, inputs: [join(dir, "esportato.csv")], to, infilter: CSV_IN_SEMICOLON_UTF8, outDir: join(dir, locale, `csv-${to}`) });
      files.set(`${locale} csv export as ${to}`, out!);
    }
  }
  reference = await resultOf(filled, "compilato.xlsx");
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasLibreOffice)("the filled export saved by LibreOffice Calc", () => {
  test("the filled file itself: every kind of change applied or refused with its reason", () => {
    expect(reference.status).toBe(200);
    expect(reference.jobStatus).toBe("done_with_errors");
    const kinds = reference.outcomes.map((o) => o.split(" ")[2]);
    expect(kinds.filter((k) => k === "OK")).toHaveLength(6);
    expect(kinds.filter((k) => k === "KO")).toHaveLength(2);
    expect(reference.outcomes.some((o) => o.includes("Versione: il valore non è quello scaricato"))).toBe(true);
    expect(reference.outcomes.some((o) => o.includes("l'aula è omogenea"))).toBe(true);
    expect(reference.enrollments).toContainEqual(expect.objectContaining({ hire_date: "2020-01-03", employer_vat: "01234560587", employer_name: "Ospitalità S.r.l." }));
    expect(reference.enrollments).toContainEqual(expect.objectContaining({ hire_date: "2020-03-24", employer_vat: "12345670017", employer_name: "Caffè & Co." }));
  });

  for (const locale of LOCALES) {
    for (const format of FORMATS) {
      test(`${locale}, saved as ${format.name}: the same outcome per row and the same enrollments`, async () => {
        const path = files.get(`${locale} ${format.name}`)!;
        const result = await resultOf(await read(path), path.split("/").pop()!);
        expect(result.refusal).toBeNull();
        expect(result.jobStatus).toBe(reference.jobStatus);
        expect(result.outcomes).toEqual(reference.outcomes);
        expect(result.enrollments).toEqual(reference.enrollments);
      });
    }
  }

  test("Excel's Italian CSV (;, dd/mm/yyyy, Windows-1252) gives the same outcome per row and the same enrollments", async () => {
    const result = await resultOf(await read(files.get("excel-it")!), "excel-it.csv");
    expect(result.outcomes).toEqual(reference.outcomes);
    expect(result.enrollments).toEqual(reference.enrollments);
  });

  test("Excel's English CSV (, and m/d/yyyy) is refused at upload: no date is ever applied swapped", async () => {
    const result = await resultOf(await read(files.get("excel-en")!), "excel-en.csv");
    expect(result.status).toBe(422);
    expect(result.refusal).toContain("mese/giorno/anno");
    expect(result.jobStatus).toBeNull();
  });
});

describe.skipIf(!hasLibreOffice)("the CSV export opened in LibreOffice Calc and saved as a workbook", () => {
  for (const to of ["xlsx", "ods"]) {
    test(`it-IT, as .${to}: accepted from its only sheet, named after the file, and nothing changes`, async () => {
      const untouched = await resultOf(new Uint8Array(0), "vuoto.csv");
      const result = await resultOf(await read(files.get(`it-IT csv export as ${to}`)!), `esportato.${to}`);
      expect(result.refusal).toBeNull();
      expect(result.jobStatus).toBe("done");
      expect(result.sheetName).toBe("esportato");
      expect(result.outcomes.every((o) => o.split(" ")[2] === "INVARIATO")).toBe(true);
      expect(result.enrollments).toEqual(untouched.enrollments);
    });

    test(`en-US, as .${to}: the dates Calc read month-first fail the file before any row is applied`, async () => {
      const untouched = await resultOf(new Uint8Array(0), "vuoto.csv");
      const result = await resultOf(await read(files.get(`en-US csv export as ${to}`)!), `esportato.${to}`);
      expect(result.jobStatus ?? result.refusal).toContain("giorno e mese scambiati");
      expect(result.enrollments).toEqual(untouched.enrollments);
    });
  }
});
