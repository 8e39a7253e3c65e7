import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { unsealWhole } from "../../src/services/sealed-files.ts";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { strFromU8, strToU8, unzipSync } from "fflate";
import * as XLSX from "xlsx";
import { drainExports } from "../../src/jobs/exports.ts";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { codiceFiscaleCheckChar } from "../../src/services/codice-fiscale.ts";
import { partitaIvaCheckDigit } from "../../src/services/partita-iva.ts";
import { TRAINEE_COLUMNS, type TraineeRow } from "../../src/sheets/columns.ts";
import {
  csvText,
  editEntry,
  editXlsx,
  executable,
  lyingSizes,
  parseExportCsv,
  passwordProtected,
  sheetRows,
  truncated,
  windows1252,
  withMacros,
  withRows,
  zipBomb,
  type Rows,
} from "../helpers/bad-files.ts";
import { book, isoPlusDays, italianDate, signedIn, tables, upload as uploadAs, type Queries } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp, type TestClient } from "../helpers/test-app.ts";

// Imports run in a worker thread that spawns a child process per file.
setDefaultTimeout(60_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let one: Queries["one"];
let all: Queries["all"];
let client: TestClient;
/** An export of agency A taken once, for the files refused before any row is read. */
let baseXlsx: Uint8Array;

beforeAll(async () => {
  t = await createTestApp();
  f = fixtures(t.db);
  ({ one, all } = tables(t));
  client = await signedIn(t, f.rpaA);
  baseXlsx = await exported("xlsx");
});
afterAll(() => t.close());

// ── Tables ────────────────────────────────────────────────────────────────────

type UploadJobRow = {
  id: number;
  status: string;
  error: string | null;
  file_path: string;
  rows_total: number | null;
  rows_ok: number | null;
  rows_ko: number | null;
  rows_unchanged: number | null;
};
type Outcome = { row_number: number; enrollment_id: number | null; outcome: "OK" | "KO" | "INVARIATO"; message: string | null };
type Enrollment = Record<string, string | number | null> & { id: number };

const uploadJob = (id: number) => one<UploadJobRow>("SELECT * FROM import_jobs WHERE id = ?", id);
const uploadJobCount = (app: TestApp) => tables(app).one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n;
const outcomesOf = (jobId: number) =>
  all<Outcome>("SELECT row_number, enrollment_id, outcome, message FROM import_row_outcomes WHERE import_job_id = ? ORDER BY row_number", jobId);
const enrollment = (id: number) => one<Enrollment>("SELECT * FROM enrollments WHERE id = ?", id);
const agencyEnrollments = () => all<Enrollment>("SELECT * FROM enrollments WHERE agency_id = ? ORDER BY id", f.agencyA.id);

/** Files kept in the uploads folder; the folder may not exist yet. */
function storedUploads(app: TestApp): string[] {
  const dir = join(app.dir, "uploads");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

// ── Exports and uploads through the routes ───────────────────────────────────

/** Books a download of every training type of the agency for 2019 and returns the file. */
async function exported(format: "xlsx" | "csv", c = client, agencyId = f.agencyA.id): Promise<Uint8Array> {
  const types = all<{ t: string }>("SELECT DISTINCT training_type AS t FROM projects WHERE agency_id = ? AND year = 2019", agencyId);
  const booked = await book(c, { anno: "2019", formato: format, email: "", tipologie: types.map((r) => r.t) });
  expect(booked.status).toBe(303);
  await drainExports(t.deps);
  const job = one<{ status: string; file_path: string }>("SELECT status, file_path FROM export_jobs ORDER BY id DESC LIMIT 1");
  expect(job.status).toBe("ready");
  return unsealWhole(join(t.dir, job.file_path), t.deps.keys);
}

const unescapeHtml = (html: string) =>
  html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** The notice of the answered fragment with that role, as the clerk reads it. */
function notice(html: string, role: "alert" | "status"): string | null {
  const match = html.match(new RegExp(`<p class="notice [a-z]+" role="${role}">([\\s\\S]*?)</p>`));
  return match ? unescapeHtml(match[1]!).trim() : null;
}

/** Uploads as the page's form does with htmx, the token in the header and the form; the notices read out. */
async function upload(c: TestClient, bytes: Uint8Array, name: string) {
  const { status, html } = await uploadAs(c, new Uint8Array(bytes), name, "2019", { tokenInForm: true });
  return { code: status, html, error: notice(html, "alert"), info: notice(html, "status") };
}

/** Refused while the clerk waits: 422, the sentence, and nothing stored or queued. */
async function expectRefused(bytes: Uint8Array, name: string, app = t, c = client): Promise<string> {
  const jobs = uploadJobCount(app);
  const files = storedUploads(app);
  const answer = await upload(c, bytes, name);
  expect(answer.code).toBe(422);
  expect(answer.html).toStartWith('<section id="import-section">');
  expect(answer.error).not.toBeNull();
  expect(answer.info).toBeNull();
  expect(uploadJobCount(app)).toBe(jobs);
  expect(storedUploads(app)).toEqual(files);
  return answer.error!;
}

/** Accepted at upload and run by the queue: the job and its row outcomes by line. */
async function uploadedAndRun(bytes: Uint8Array, name: string) {
  const answer = await upload(client, bytes, name);
  expect(answer.error).toBeNull();
  expect(answer.code).toBe(200);
  const { id } = one<{ id: number }>("SELECT id FROM import_jobs ORDER BY id DESC LIMIT 1");
  expect(answer.info).toContain(`Caricamento n. ${id} (${name}) in coda`);
  await drainUploads(t.deps);
  const outcomes = outcomesOf(id);
  return { job: uploadJob(id), outcomes, at: (line: number) => outcomes.find((o) => o.row_number === line) };
}

// ── Rows of the trainee sheet ─────────────────────────────────────────────────

const COL = Object.fromEntries(TRAINEE_COLUMNS.map((c, i) => [c.key, i])) as Record<keyof TraineeRow, number>;
const HEADER = TRAINEE_COLUMNS.map((c) => c.header);

const categories = () => all<{ code: string }>("SELECT code FROM vulnerable_categories WHERE active = 1 ORDER BY sort_order").map((r) => r.code);
/** A category other than the ones given. */
const otherCategory = (...not: unknown[]) => categories().find((c) => !not.includes(c))!;

/** The enrollment a file row stands for. */
function enrollmentOf(row: unknown[]): Enrollment {
  return one<Enrollment>(
    `SELECT e.* FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = e.project_id
     JOIN participants pa ON pa.id = e.participant_id
     WHERE p.code = ? AND c.code = ? AND pa.codice_fiscale = ? AND e.year = 2019`,
    String(row[COL.projectCode]),
    String(row[COL.classCode]),
    String(row[COL.codiceFiscale]),
  );
}

/** The index (= line - 1) of the first data row of a non-homogeneous class that matches. */
function freeRow(rows: Rows, extra: (row: unknown[], index: number) => boolean = () => true): number {
  const index = rows.findIndex((r, i) => i > 0 && r[COL.homogeneous] === "NO" && extra(r, i));
  expect(index).toBeGreaterThan(0);
  return index;
}

/** The text of one entry of a zip. */
const entryText = (bytes: Uint8Array, name: string) => strFromU8(unzipSync(bytes)[name]!);

const trainees = (bytes: Uint8Array) => sheetRows(XLSX.read(bytes), "Allievi");
const dataRowCount = (bytes: Uint8Array) => trainees(bytes).length - 1;

// Not the app's own conversion: a mistake in it would otherwise agree with itself.
const excelSerial = (iso: string) => (Date.parse(`${iso}T00:00:00Z`) - Date.UTC(1899, 11, 30)) / 86_400_000;
const projectEnd = (enrollmentId: number) =>
  one<{ end_date: string }>("SELECT p.end_date FROM enrollments e JOIN projects p ON p.id = e.project_id WHERE e.id = ?", enrollmentId)
    .end_date;

// ───────────────────────────────────────────────────────────────────────────────

describe("files refused while the clerk waits", () => {
  test("an empty file", async () => {
    expect(await expectRefused(new Uint8Array(0), "vuoto.xlsx")).toContain("Il file è vuoto");
  });

  test("a text file renamed .xlsx is read as CSV and lacks the required columns", async () => {
    const text = strToU8("Appunti per la riunione di lunedì\nPortare i moduli firmati dagli allievi.\n");
    const error = await expectRefused(text, "appunti.xlsx");
    expect(error).toContain('Nel foglio "Allievi" mancano le colonne: Codice progetto, Codice aula, Codice fiscale, Fascia debole');
  });

  test("a truncated zip (a real xlsx cut in half)", async () => {
    expect(await expectRefused(truncated(baseXlsx), "interrotto.xlsx")).toContain("danneggiato o incompleto");
  });

  test("an xlsx whose zip headers lie about the sizes", async () => {
    expect(await expectRefused(lyingSizes(baseXlsx), "dimensioni.xlsx")).toContain("danneggiato o incompleto");
  });

  test("an html page renamed .xlsx", async () => {
    const html = strToU8('<!DOCTYPE html>\n<html lang="it"><head><title>Placement</title></head><body><table><tr><td>Codice progetto</td></tr></table></body></html>');
    expect(await expectRefused(html, "pagina.xlsx")).toContain("pagina web");
  });

  test("an .xlsm with macros", async () => {
    expect(await expectRefused(withMacros(baseXlsx), "con-macro.xlsm")).toContain("Il file contiene macro");
  });

  for (const kind of ["MZ", "ELF"] as const) {
    test(`an executable (${kind}) renamed .csv`, async () => {
      expect(await expectRefused(executable(kind), "programma.csv")).toContain("Il file non è un foglio di calcolo");
    });
  }

  test("a password-protected xlsx", async () => {
    expect(await expectRefused(passwordProtected(), "protetto.xlsx")).toContain("protetto da password");
  });

  test("a zip bomb: a sheet of 300 MB of one byte", async () => {
    const bomb = zipBomb(baseXlsx, 300);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const started = performance.now();
    const error = await expectRefused(bomb, "bomba.xlsx");
    console.info(`zip bomb (${bomb.length} bytes) refused in ${Math.round(performance.now() - started)} ms`);
    expect(error).toContain("si espande in modo anomalo");
  });

  test("a file larger than the limit", async () => {
    const small = await createTestApp({ env: { UPLOAD_MAX_MB: "1" } });
    try {
      const c = await signedIn(small, fixtures(small.db).rpaA);
      const bytes = strToU8("Codice progetto;Codice aula\r\n".padEnd(1.5 * 1024 * 1024, "x"));
      expect(await expectRefused(bytes, "grande.csv", small, c)).toContain("Il file supera il limite di 1 MB");
    } finally {
      small.close();
    }
  });

  test("a header without a required column names it", async () => {
    const without = withRows(baseXlsx, "Allievi", (rows) => rows.map((r) => r.filter((_, i) => i !== COL.fasciaDebole)));
    const error = await expectRefused(without, "senza-fascia.xlsx");
    expect(error).toContain('Nel foglio "Allievi" mancano le colonne: Fascia debole.');
  });

  test("another agency's file names the other agency", async () => {
    const other = await exported("xlsx", await signedIn(t, f.rpaB), f.agencyB.id);
    const error = await expectRefused(other, "agenzia-b.xlsx");
    expect(error).toContain(`Il file è stato scaricato per un'altra agenzia (${f.agencyB.code})`);
  });

  test("last year's file", async () => {
    const lastYear = withRows(baseXlsx, "Metadati", (rows) => rows.map((r) => (r[0] === "year" ? ["year", "2018"] : r)));
    expect(await expectRefused(lastYear, "anno-scorso.xlsx")).toContain("Il file è della campagna 2018, non del 2019");
  });
});

describe("files accepted, then read in full by the job", () => {
  test("keys named __proto__ in the metadata and the header pollute nothing", async () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const xlsx = await exported("xlsx");
    const crafted = editXlsx(xlsx, (book) => {
      const meta = sheetRows(book, "Metadati");
      book.Sheets["Metadati"] = XLSX.utils.aoa_to_sheet([...meta, ["__proto__", "polluted"], ["constructor", "polluted"]]);
      const rows = sheetRows(book, "Allievi").map((r, i) => [...r, i === 0 ? "__proto__" : "polluted"]);
      book.Sheets["Allievi"] = XLSX.utils.aoa_to_sheet(rows);
    });
    const { job, outcomes } = await uploadedAndRun(crafted, "proto.xlsx");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(job.status).toBe("done");
    expect(job.rows_total).toBe(dataRowCount(xlsx));
    expect(outcomes.every((o) => o.outcome === "INVARIATO")).toBe(true);
  });

  test("a sheet declaring the whole grid as its range is processed normally", async () => {
    const xlsx = await exported("xlsx");
    const rows = trainees(xlsx);
    const index = freeRow(rows);
    const before = enrollmentOf(rows[index]!);
    const category = otherCategory(before.fascia_debole);
    const fasciaCell = `${XLSX.utils.encode_col(COL.fasciaDebole)}${index + 1}`;
    const whole = editEntry(xlsx, "xl/worksheets/sheet1.xml", (xml) =>
      xml
        .replace(/(<worksheet[^>]*>)/, '$1<dimension ref="A1:XFD1048576"/>')
        .replace(new RegExp(`<c r="${fasciaCell}"[^>]*?(/>|>[\\s\\S]*?</c>)`), `<c r="${fasciaCell}" t="inlineStr"><is><t>${category}</t></is></c>`),
    );
    const xml = entryText(whole, "xl/worksheets/sheet1.xml");
    expect(xml).toContain('<dimension ref="A1:XFD1048576"/>');
    expect(xml).toContain(`<c r="${fasciaCell}" t="inlineStr"><is><t>${category}</t></is></c>`);
    const { job, at } = await uploadedAndRun(whole, "intero-foglio.xlsx");
    expect(job.status).toBe("done");
    expect(job.rows_total).toBe(rows.length - 1);
    expect(job.rows_ok).toBe(1);
    expect(job.rows_unchanged).toBe(rows.length - 2);
    expect(at(index + 1)).toMatchObject({ outcome: "OK", enrollment_id: before.id });
    expect(enrollment(before.id).fascia_debole).toBe(category);
  });

  test("a sheet of 1,048,576 rows, almost all empty, counts only the real rows", async () => {
    const xlsx = await exported("xlsx");
    const huge = editEntry(xlsx, "xl/worksheets/sheet1.xml", (xml) => {
      const row = (n: number) => xml.match(new RegExp(`<row r="${n}">[\\s\\S]*?</row>`))![0];
      const renumber = (text: string, n: number) => text.replace(/ r="([A-Z]*)\d+"/g, (_, col: string) => ` r="${col}${n}"`);
      const parts = [row(1), row(2), row(3), row(4)];
      for (let n = 5; n < 1_048_576; n++) parts.push(`<row r="${n}"/>`);
      parts.push(renumber(row(5), 1_048_576));
      return xml.replace(/<sheetData>[\s\S]*<\/sheetData>/, () => `<sheetData>${parts.join("")}</sheetData>`);
    });
    const { job, outcomes } = await uploadedAndRun(huge, "un-milione-di-righe.xlsx");
    expect(job.status).toBe("done");
    expect(job.rows_total).toBe(4);
    expect(outcomes.map((o) => [o.row_number, o.outcome])).toEqual([
      [2, "INVARIATO"],
      [3, "INVARIATO"],
      [4, "INVARIATO"],
      [1_048_576, "INVARIATO"],
    ]);
  });

  test("columns in another order are matched by their header and applied", async () => {
    const xlsx = await exported("xlsx");
    const rows = trainees(xlsx);
    const fasciaIndex = freeRow(rows);
    const placedIndex = freeRow(rows, (r, i) => i !== fasciaIndex && r[COL.placed] !== "SI");
    const fasciaBefore = enrollmentOf(rows[fasciaIndex]!);
    const placedBefore = enrollmentOf(rows[placedIndex]!);
    const category = otherCategory(fasciaBefore.fascia_debole);
    const hire = isoPlusDays(projectEnd(placedBefore.id), 20);
    const vat = `0123456058${partitaIvaCheckDigit("0123456058")}`;
    rows[fasciaIndex] = rows[fasciaIndex]!.with(COL.fasciaDebole, category);
    const placed = [...rows[placedIndex]!];
    placed[COL.placed] = "SI";
    placed[COL.hireDate] = excelSerial(hire);
    placed[COL.contractType] = "DTI";
    placed[COL.employerVat] = vat;
    placed[COL.employerName] = "Officine Rossi S.r.l.";
    rows[placedIndex] = placed;
    // A fixed shuffle: every column moves.
    const order = [13, 5, 0, 14, 10, 8, 2, 12, 3, 9, 1, 11, 7, 4, 6];
    expect([...order].sort((a, b) => a - b)).toEqual(HEADER.map((_, i) => i));
    const shuffled = withRows(xlsx, "Allievi", () => rows.map((r) => order.map((i) => r[i])));
    expect(trainees(shuffled)[0]).toEqual(order.map((i) => HEADER[i]));

    const { job, outcomes, at } = await uploadedAndRun(shuffled, "colonne-mescolate.xlsx");
    expect(job.status).toBe("done");
    expect(job.rows_ok).toBe(2);
    expect(at(fasciaIndex + 1)).toMatchObject({ outcome: "OK", enrollment_id: fasciaBefore.id });
    expect(at(placedIndex + 1)).toMatchObject({ outcome: "OK", enrollment_id: placedBefore.id });
    expect(outcomes.filter((o) => o.outcome === "INVARIATO")).toHaveLength(rows.length - 3);
    expect(enrollment(fasciaBefore.id).fascia_debole).toBe(category);
    expect(enrollment(placedBefore.id)).toMatchObject({
      placed: 1,
      hire_date: hire,
      contract_type: "DTI",
      employer_vat: vat,
      employer_name: "Officine Rossi S.r.l.",
    });
  });

  test("a cell never closed, in the header or in a data row, is refused at once rather than read for ever", async () => {
    const unclosedFrom = (marker: string) =>
      editEntry(baseXlsx, "xl/worksheets/sheet1.xml", (xml) => {
        const at = xml.indexOf(marker);
        return xml.slice(0, at) + xml.slice(at).replaceAll("</c>", "");
      });
    expect(await expectRefused(unclosedFrom('<row r="1"'), "intestazione.xlsx")).toContain("alla riga 1 del foglio una cella non è chiusa");
    expect(await expectRefused(unclosedFrom('<row r="5"'), "riga.xlsx")).toContain("alla riga 5 del foglio una cella non è chiusa");
  });

  test.each([
    ["replaced by another file", (_sealed: Buffer, xlsx: Uint8Array) => Buffer.from(truncated(xlsx))],
    ["cut short", (sealed: Buffer) => sealed.subarray(0, sealed.length - 20)],
    ["with one byte changed", (sealed: Buffer) => Buffer.from(sealed.map((b, i) => (i === sealed.length - 30 ? b ^ 1 : b)))],
  ])("a stored upload %s on disk fails in the job with a sentence, changing nothing", async (_name, alter) => {
    const xlsx = await exported("xlsx");
    const answer = await upload(client, xlsx, "poi-rovinato.xlsx");
    expect(answer.code).toBe(200);
    const queued = one<UploadJobRow>("SELECT * FROM import_jobs ORDER BY id DESC LIMIT 1");
    const stored = join(t.dir, queued.file_path);
    writeFileSync(stored, alter(readFileSync(stored), xlsx));
    const before = agencyEnrollments();
    await drainUploads(t.deps);
    const job = uploadJob(queued.id);
    expect(job.status).toBe("failed");
    expect(job.error).toContain("sul server risulta alterato o incompleto");
    expect(outcomesOf(job.id)).toEqual([]);
    expect(agencyEnrollments()).toEqual(before);
  });
});

describe("rows refused one by one", () => {
  /** Uploads the export with `edit` applied to its trainee rows; the enrollments of agency A before. */
  async function uploadEdited(name: string, edit: (rows: Rows) => Rows | void) {
    const xlsx = await exported("xlsx");
    const rows = trainees(xlsx);
    const edited = withRows(xlsx, "Allievi", () => edit(rows) ?? rows);
    const before = agencyEnrollments();
    return { before, ...(await uploadedAndRun(edited, name)) };
  }

  test("a formula in a cell makes that row KO", async () => {
    const xlsx = await exported("xlsx");
    const rows = trainees(xlsx);
    const index = freeRow(rows);
    const before = enrollmentOf(rows[index]!);
    const withFormula = editXlsx(xlsx, (book) => {
      const sheet = book.Sheets["Allievi"]!;
      sheet[XLSX.utils.encode_cell({ r: index, c: COL.fasciaDebole })] = { f: 'UPPER("giov")', v: "GIOV", t: "s" };
    });
    expect(entryText(withFormula, "xl/worksheets/sheet1.xml")).toContain("<f>");
    const { job, at } = await uploadedAndRun(withFormula, "formula.xlsx");
    expect(job.status).toBe("done_with_errors");
    expect(job.rows_ko).toBe(1);
    const outcome = at(index + 1)!;
    expect(outcome.outcome).toBe("KO");
    expect(outcome.message).toContain("Fascia debole: contiene una formula");
    expect(enrollment(before.id)).toEqual(before);
  });

  test("merged cells leave the second row without project code", async () => {
    const xlsx = await exported("xlsx");
    const rows = trainees(xlsx);
    const index = rows.findIndex((r, i) => i > 0 && rows[i + 1]?.[COL.projectCode] === r[COL.projectCode]);
    const first = enrollmentOf(rows[index]!);
    const second = enrollmentOf(rows[index + 1]!);
    const merged = editXlsx(xlsx, (book) => {
      const sheet = book.Sheets["Allievi"]!;
      sheet["!merges"] = [{ s: { r: index, c: COL.projectCode }, e: { r: index + 1, c: COL.projectCode } }];
      delete sheet[XLSX.utils.encode_cell({ r: index + 1, c: COL.projectCode })];
    });
    expect(entryText(merged, "xl/worksheets/sheet1.xml")).toContain("<mergeCell");
    const { job, at } = await uploadedAndRun(merged, "celle-unite.xlsx");
    expect(job.status).toBe("done_with_errors");
    expect(job.rows_ko).toBe(1);
    expect(at(index + 1)!.outcome).toBe("INVARIATO");
    expect(at(index + 2)!.outcome).toBe("KO");
    expect(at(index + 2)!.message).toContain("Codice progetto: mancante.");
    expect(enrollment(first.id)).toEqual(first);
    expect(enrollment(second.id)).toEqual(second);
  });

  test("the same row twice with different values: both KO", async () => {
    let index = 0;
    let enrollmentId = 0;
    const { job, before, at } = await uploadEdited("doppia.xlsx", (rows) => {
      index = freeRow(rows);
      const row = rows[index]!;
      enrollmentId = enrollmentOf(row).id;
      const [a, b] = categories().filter((c) => c !== row[COL.fasciaDebole]);
      return [...rows.slice(0, index), row.with(COL.fasciaDebole, a), row.with(COL.fasciaDebole, b), ...rows.slice(index + 1)];
    });
    expect(job.status).toBe("done_with_errors");
    expect(job.rows_ko).toBe(2);
    for (const [line, other] of [[index + 1, index + 2], [index + 2, index + 1]] as const) {
      expect(at(line)).toMatchObject({ outcome: "KO", message: `L'iscrizione compare anche alla riga ${other} con valori diversi: lasciane una sola.` });
    }
    expect(enrollment(enrollmentId)).toEqual(before.find((e) => e.id === enrollmentId)!);
  });

  test("the same row twice with equal values is not an error", async () => {
    let index = 0;
    let enrollmentId = 0;
    let category = "";
    const { job, at } = await uploadEdited("ripetuta.xlsx", (rows) => {
      index = freeRow(rows);
      const row = rows[index]!;
      enrollmentId = enrollmentOf(row).id;
      category = otherCategory(row[COL.fasciaDebole]);
      const changed = row.with(COL.fasciaDebole, category);
      return [...rows.slice(0, index), changed, [...changed], ...rows.slice(index + 1)];
    });
    expect(job.status).toBe("done");
    expect(job.rows_ko).toBe(0);
    expect(job.rows_ok).toBe(1);
    expect(at(index + 1)).toMatchObject({ outcome: "OK", enrollment_id: enrollmentId });
    expect(at(index + 2)).toMatchObject({ outcome: "INVARIATO", message: `Stessi valori della riga ${index + 1}.` });
    expect(enrollment(enrollmentId).fascia_debole).toBe(category);
  });

  test("an unknown category is KO", async () => {
    let index = 0;
    let enrollmentId = 0;
    const { job, before, at } = await uploadEdited("categoria.xlsx", (rows) => {
      index = freeRow(rows);
      enrollmentId = enrollmentOf(rows[index]!).id;
      rows[index] = rows[index]!.with(COL.fasciaDebole, "XYZ");
    });
    expect(job.status).toBe("done_with_errors");
    expect(at(index + 1)).toMatchObject({ outcome: "KO", message: "Fascia debole: il codice «XYZ» non esiste; scrivi NO o un codice della Legenda." });
    expect(enrollment(enrollmentId)).toEqual(before.find((e) => e.id === enrollmentId)!);
  });

  test("a lowercase codice fiscale with spaces still matches its row", async () => {
    let index = 0;
    let enrollmentId = 0;
    let category = "";
    const { job, at } = await uploadEdited("cf-minuscolo.xlsx", (rows) => {
      index = freeRow(rows);
      const row = [...rows[index]!];
      enrollmentId = enrollmentOf(row).id;
      category = otherCategory(row[COL.fasciaDebole]);
      const cf = String(row[COL.codiceFiscale]).toLowerCase();
      row[COL.codiceFiscale] = `${cf.slice(0, 6)} ${cf.slice(6, 11)} ${cf.slice(11)}`;
      row[COL.fasciaDebole] = category;
      rows[index] = row;
    });
    expect(at(index + 1)).toMatchObject({ outcome: "OK", enrollment_id: enrollmentId });
    expect(job.status).toBe("done");
    expect(enrollment(enrollmentId).fascia_debole).toBe(category);
  });

  test("text cells with spaces around the value are read, not taken as empty", async () => {
    // SheetJS, like other generators, writes such text as <c t="str"><v xml:space="preserve"> … </v></c>.
    let cfIndex = 0;
    let nameIndex = 0;
    const { job, at, outcomes } = await uploadEdited("spazi.xlsx", (rows) => {
      cfIndex = freeRow(rows);
      nameIndex = freeRow(rows, (r, i) => i !== cfIndex && r[COL.placed] !== "SI");
      const padded = [...rows[cfIndex]!];
      padded[COL.codiceFiscale] = ` ${String(padded[COL.codiceFiscale]).toLowerCase()} `;
      padded[COL.fasciaDebole] = otherCategory(padded[COL.fasciaDebole]);
      rows[cfIndex] = padded;
      const hired = [...rows[nameIndex]!];
      hired[COL.placed] = "SI";
      hired[COL.hireDate] = italianDate(isoPlusDays(projectEnd(enrollmentOf(hired).id), 10));
      hired[COL.contractType] = "APP";
      hired[COL.employerVat] = "";
      hired[COL.employerName] = "Bianchi S.p.A. ";
      rows[nameIndex] = hired;
    });
    const employer = enrollment(at(nameIndex + 1)!.enrollment_id!).employer_name;
    expect({ cf: at(cfIndex + 1), name: at(nameIndex + 1), employer }).toMatchObject({
      cf: { outcome: "OK", message: null },
      name: { outcome: "OK", message: null },
      employer: "Bianchi S.p.A.",
    });
    expect(job.status).toBe("done");
    expect(outcomes.filter((o) => o.outcome === "OK")).toHaveLength(2);
  });

  test("a wrong check character is KO", async () => {
    let index = 0;
    let enrollmentId = 0;
    const { job, before, at } = await uploadEdited("cf-errato.xlsx", (rows) => {
      index = freeRow(rows);
      const row = [...rows[index]!];
      enrollmentId = enrollmentOf(row).id;
      const cf = String(row[COL.codiceFiscale]);
      row[COL.codiceFiscale] = cf.slice(0, 15) + (cf[15] === "A" ? "B" : "A");
      row[COL.fasciaDebole] = otherCategory(row[COL.fasciaDebole]);
      rows[index] = row;
    });
    expect(job.status).toBe("done_with_errors");
    const outcome = at(index + 1)!;
    expect(outcome.outcome).toBe("KO");
    expect(outcome.message).toContain("Codice fiscale:");
    expect(outcome.message).toContain("carattere di controllo");
    expect(enrollment(enrollmentId)).toEqual(before.find((e) => e.id === enrollmentId)!);
  });

  test("an omocodia codice fiscale is matched", async () => {
    const target = one<{ id: number; participant_id: number; codice_fiscale: string; fascia_debole: string | null }>(
      `SELECT e.id, e.participant_id, pa.codice_fiscale, e.fascia_debole FROM enrollments e
       JOIN classes c ON c.id = e.class_id JOIN participants pa ON pa.id = e.participant_id
       WHERE e.agency_id = ? AND c.homogeneous = 0 AND e.year = 2019 ORDER BY e.id LIMIT 1`,
      f.agencyA.id,
    );
    // Omocodia: the rightmost digit still a digit becomes its letter, and the check character follows.
    const chars = target.codice_fiscale.split("");
    const position = [14, 13, 12, 10, 9, 7, 6].find((p) => /\d/.test(chars[p]!))!;
    chars[position] = "LMNPQRSTUV"[Number(chars[position])]!;
    const first15 = chars.slice(0, 15).join("");
    const omocodia = first15 + codiceFiscaleCheckChar(first15);
    t.db.$client.query("UPDATE participants SET codice_fiscale = ? WHERE id = ?").run(omocodia, target.participant_id);
    try {
      const xlsx = await exported("xlsx");
      const rows = trainees(xlsx);
      const index = rows.findIndex((r) => r[COL.codiceFiscale] === omocodia && enrollmentOf(r).id === target.id);
      expect(index).toBeGreaterThan(0);
      const category = otherCategory(target.fascia_debole);
      const edited = withRows(xlsx, "Allievi", () => rows.map((r, i) => (i === index ? r.with(COL.fasciaDebole, category) : r)));
      const { job, at } = await uploadedAndRun(edited, "omocodia.xlsx");
      expect(job.status).toBe("done");
      expect(at(index + 1)).toMatchObject({ outcome: "OK", enrollment_id: target.id });
      expect(enrollment(target.id).fascia_debole).toBe(category);
    } finally {
      t.db.$client.query("UPDATE participants SET codice_fiscale = ? WHERE id = ?").run(target.codice_fiscale, target.participant_id);
    }
  });
});

describe("CSV and untouched files", () => {
  test("a CSV saved by Excel in Italy (Windows-1252, ;) keeps accented names", async () => {
    const rows = parseExportCsv(await exported("csv"));
    expect(rows[0]).toEqual(HEADER);
    const index = rows.findIndex((r, i) => i > 0 && r[COL.placed] !== "SI");
    const before = enrollmentOf(rows[index]!);
    const hire = isoPlusDays(projectEnd(before.id), 15);
    const row = [...rows[index]!];
    row[COL.placed] = "SI";
    row[COL.hireDate] = italianDate(hire);
    row[COL.contractType] = "STD";
    row[COL.employerVat] = "";
    row[COL.employerName] = "Società Cà Foscari";
    rows[index] = row;
    const bytes = windows1252(csvText(rows));
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes)).toThrow();

    const { job, at } = await uploadedAndRun(bytes, "allievi-excel.csv");
    expect(job.status).toBe("done");
    expect(job.rows_ok).toBe(1);
    expect(at(index + 1)).toMatchObject({ outcome: "OK", enrollment_id: before.id });
    expect(enrollment(before.id)).toMatchObject({
      placed: 1,
      hire_date: hire,
      contract_type: "STD",
      employer_vat: null,
      employer_name: "Società Cà Foscari",
    });
  });

  for (const format of ["xlsx", "csv"] as const) {
    test(`the ${format} export uploaded untouched: every row INVARIATO`, async () => {
      const bytes = await exported(format);
      const expectedRows = format === "xlsx" ? dataRowCount(bytes) : parseExportCsv(bytes).length - 1;
      const before = agencyEnrollments();
      const { job, outcomes } = await uploadedAndRun(bytes, `intatto.${format}`);
      expect(job).toMatchObject({ status: "done", error: null, rows_total: expectedRows, rows_ok: 0, rows_ko: 0, rows_unchanged: expectedRows });
      expect(outcomes).toHaveLength(expectedRows);
      expect(outcomes.every((o) => o.outcome === "INVARIATO" && o.enrollment_id !== null)).toBe(true);
      expect(agencyEnrollments()).toEqual(before);
    });
  }
});
