// The clerk's steps, as route tests take them: sign in, book and download, upload, read.
import { unsealWhole } from "../../src/services/sealed-files.ts";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import * as XLSX from "xlsx";
import { drainExports } from "../../src/jobs/exports.ts";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { excelSerial } from "../../src/sheets/cells.ts";
import { TRAINEE_COLUMNS, type TraineeRow } from "../../src/sheets/columns.ts";
import type { Db } from "../../src/db/client.ts";
import type { TestApp, TestClient } from "./test-app.ts";
import type { Database } from "bun:sqlite";
import { expect } from "bun:test";

export type Sheet = unknown[][];

/** Queries on a database: every row, or the first. */
export function queries(db: Db) {
  return {
    all: <T>(sql: string, ...params: (string | number | null)[]) => db.$client.query(sql).all(...params) as T[],
    one: <T>(sql: string, ...params: (string | number | null)[]) => db.$client.query(sql).get(...params) as T,
  };
}

export type Queries = ReturnType<typeof queries>;

/** Queries on the app's database. */
export const tables = (t: TestApp): Queries => queries(t.db);

/** The index of a column of the trainee sheet. */
export const col = (key: keyof TraineeRow) => TRAINEE_COLUMNS.findIndex((c) => c.key === key);

/**
 * A client signed in as `email` that has opened `page`, keeping that page's CSRF token;
 * `page: null` stays where sign-in lands. `address` is the client's IP: sign-in throttling counts per address.
 */
export async function signedIn(
  t: TestApp,
  email: string,
  { page = "/placement", address }: { page?: string | null; address?: string } = {},
): Promise<TestClient> {
  const client = t.client(address);
  await client.login(email);
  if (page !== null) await client.get(page);
  return client;
}

const ALL_TYPES = ["BASE", "PROF", "OTJ", "CONT", "QUAL", "RIQ"];

/** Posts the booking form with the page's token; a list stands for a field ticked more than once. */
export function book(client: TestClient, form: Record<string, string | string[]>, { htmx = false } = {}): Promise<Response> {
  const body = new URLSearchParams({ _csrf: client.csrfToken });
  for (const [key, value] of Object.entries(form)) for (const v of [value].flat()) body.append(key, v);
  return client.request("/placement/prenotazioni", {
    method: "POST",
    body,
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...(htmx ? { "HX-Request": "true" } : {}) },
  });
}

/** Books a download of every training type of 2019, runs it and returns the file. */
export async function bookAndDownload(t: TestApp, client: TestClient, format: "xlsx" | "csv" = "xlsx"): Promise<Uint8Array<ArrayBuffer>> {
  await book(client, { anno: "2019", formato: format, tipologie: ALL_TYPES });
  await drainExports(t.deps);
  const job = tables(t).one<{ id: number }>("SELECT id FROM export_jobs ORDER BY id DESC LIMIT 1");
  return new Uint8Array(await (await client.request(`/placement/prenotazioni/${job.id}/file`)).arrayBuffer());
}

export type UploadOptions = {
  /** false: no HX-Request header, so the answer is what a plain form post gets; the token stays in the header. */
  htmx?: boolean;
  /** Also send the token as the form's hidden `_csrf` field, which htmx includes with the file. */
  tokenInForm?: boolean;
};

/** Uploads a file as the page's form does with htmx; the answer's status and HTML. */
export async function upload(
  client: TestClient,
  bytes: Uint8Array<ArrayBuffer>,
  name = "compilato.xlsx",
  year = "2019",
  { htmx = true, tokenInForm = false }: UploadOptions = {},
) {
  const form = new FormData();
  if (tokenInForm) form.set("_csrf", client.csrfToken);
  form.set("anno", year);
  form.set("file", new File([bytes], name));
  const response = await client.request("/placement/caricamenti", {
    method: "POST",
    body: form,
    headers: { ...(htmx ? { "HX-Request": "true" } : {}), "X-CSRF-Token": client.csrfToken },
  });
  return { status: response.status, html: await response.text() };
}

export type ExportJob = { id: number; file_path: string; row_count: number };

/** Books the BASE file of 2019, runs the export and uploads that file back unchanged, without htmx; the export's job. */
export async function bookAndUploadBack(t: TestApp, client: TestClient): Promise<ExportJob> {
  await book(client, { tipologie: "BASE", anno: "2019", formato: "xlsx" });
  await drainExports(t.deps);
  const job = tables(t).one<ExportJob>("SELECT * FROM export_jobs ORDER BY id DESC LIMIT 1");
  const bytes = await unsealWhole(`${t.dir}/${job.file_path}`, t.deps.keys);
  await upload(client, bytes, "ricaricato.xlsx", "2019", { htmx: false });
  return job;
}

/** Uploads a master-data file as the fund's page does; the answer. */
export function uploadMasterData(client: TestClient, file: BlobPart, name: string): Promise<Response> {
  const form = new FormData();
  form.set("file", new File([file], name));
  return client.request("/amministrazione/anagrafiche", { method: "POST", body: form, headers: { "X-CSRF-Token": client.csrfToken } });
}

export type UploadJob = {
  id: number;
  status: string;
  error: string | null;
  rows_total: number;
  rows_ok: number;
  rows_ko: number;
  rows_unchanged: number;
  sheet_name: string | null;
};

/** Uploads, runs the queue and returns the job with its row outcomes (by line). */
export async function uploadAndRun(t: TestApp, client: TestClient, bytes: Uint8Array<ArrayBuffer>, name = "compilato.xlsx") {
  const answer = await upload(client, bytes, name);
  if (answer.status !== 200) return { answer, job: null, outcomes: new Map<number, { outcome: string; message: string | null }>() };
  await drainUploads(t.deps);
  const { one, all } = tables(t);
  const job = one<UploadJob>("SELECT * FROM import_jobs ORDER BY id DESC LIMIT 1");
  const rows = all<{ row_number: number; outcome: string; message: string | null }>(
    "SELECT row_number, outcome, message FROM import_row_outcomes WHERE import_job_id = ? ORDER BY row_number",
    job.id,
  );
  return { answer, job, outcomes: new Map(rows.map((r) => [r.row_number, { outcome: r.outcome, message: r.message }])) };
}

/** The rows of the trainee sheet: raw values, or with `raw` false the text each cell shows. */
export const readRows = (bytes: Uint8Array, { sheet = "Allievi", raw = true } = {}): Sheet =>
  XLSX.utils.sheet_to_json<unknown[]>(XLSX.read(bytes).Sheets[sheet]!, { header: 1, defval: "", raw });

/** Writes rows back into a copy of the workbook, as a clerk saving in Excel would. */
export function withRows(original: Uint8Array, rows: Sheet, sheet = "Allievi"): Uint8Array<ArrayBuffer> {
  const workbook = XLSX.read(original);
  workbook.Sheets[sheet] = XLSX.utils.aoa_to_sheet(rows);
  return new Uint8Array(XLSX.write(workbook, { type: "buffer", bookType: "xlsx" }));
}

/** The enrollment a file row stands for. */
export function enrollmentOfRow(t: TestApp, row: unknown[]) {
  return tables(t).one<Record<string, string | number | null> & { id: number; revision: number }>(
    `SELECT e.* FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = e.project_id
     JOIN participants pa ON pa.id = e.participant_id WHERE p.code = ? AND c.code = ? AND pa.codice_fiscale = ?`,
    String(row[col("projectCode")]),
    String(row[col("classCode")]),
    String(row[col("codiceFiscale")]),
  );
}

export const italianDate = (iso: string) => iso.split("-").reverse().join("/");
export const isoPlusDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString().slice(0, 10);

/** The class page's address of one enrollment's row. */
export function rowUrl(t: TestApp, enrollmentId: number): string {
  const e = tables(t).one<{ project_id: number; class_id: number }>("SELECT project_id, class_id FROM enrollments WHERE id = ?", enrollmentId);
  return `/progetti/${e.project_id}/aule/${e.class_id}/iscrizioni/${enrollmentId}`;
}

/** Opens a trainee's row for editing, as "Modifica" does; returns the form's fields as the page fills them. */
export async function openEdit(t: TestApp, client: TestClient, enrollmentId: number): Promise<Record<string, string>> {
  const html = await (await client.request(`${rowUrl(t, enrollmentId)}/modifica`, { headers: { "HX-Request": "true" } })).text();
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[name!] = value!;
  for (const [, name, options] of html.matchAll(/<select name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    fields[name!] = options!.match(/<option value="([^"]*)" selected/)?.[1] ?? "";
  }
  return fields;
}

/** Saves a trainee's row as "Salva" does, with the given fields. */
export function saveEdit(t: TestApp, client: TestClient, enrollmentId: number, fields: Record<string, string>) {
  return client.request(rowUrl(t, enrollmentId), {
    method: "POST",
    body: new URLSearchParams(fields),
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": client.csrfToken, "HX-Request": "true" },
  });
}

/** A cell as a clerk types it: text, a number, or a date cell shown dd/mm/yyyy. */
export type TypedCell = string | number | { date: string };

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Fills cells of our own export in place, keeping every style, as typing into it in a
 * spreadsheet program does: `edits` maps a cell reference ("K12") to what is typed.
 */
export function typeIntoExport(xlsx: Uint8Array, edits: Record<string, TypedCell>): Uint8Array<ArrayBuffer> {
  const entries = unzipSync(xlsx);
  let xml = strFromU8(entries["xl/worksheets/sheet1.xml"]!);
  for (const [ref, value] of Object.entries(edits)) {
    const cell =
      typeof value === "string"
        ? `<c r="${ref}" s="2" t="inlineStr"><is><t xml:space="preserve">${escapeXml(value)}</t></is></c>`
        : typeof value === "number"
          ? `<c r="${ref}" s="2"><v>${value}</v></c>`
          : `<c r="${ref}" s="3"><v>${excelSerial(value.date)}</v></c>`;
    const existing = new RegExp(`<c r="${ref}"(?: [^>/]*)?(?:/>|>.*?</c>)`);
    if (!existing.test(xml)) throw new Error(`no cell ${ref} in the export`);
    xml = xml.replace(existing, cell);
  }
  entries["xl/worksheets/sheet1.xml"] = strToU8(xml);
  return new Uint8Array(zipSync(entries));
}

/** The dashboards' kept counts equal a count of the enrollments and trainees themselves, none negative. */
export function expectCountsKept(db: Db) {
  const { all, one } = queries(db);
  const kept = all(
    `SELECT year, agency_id, project_id, homogeneous, fascia, enrollments, placed FROM enrollment_counts
     WHERE enrollments > 0 ORDER BY 1, 2, 3, 4, 5`,
  );
  const counted = all(
    `SELECT year, agency_id, project_id, homogeneous, coalesce(fascia_debole, '') AS fascia, count(*) AS enrollments,
            sum(counts_as_placed) AS placed
     FROM enrollments GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
  );
  expect(kept).toEqual(counted);
  expect(all("SELECT year, agency_id, trainees FROM trainee_counts WHERE trainees > 0 ORDER BY 1, 2")).toEqual(
    all("SELECT year, agency_id, count(DISTINCT participant_id) AS trainees FROM enrollments GROUP BY 1, 2 ORDER BY 1, 2"),
  );
  expect(one<{ n: number }>("SELECT count(*) AS n FROM enrollment_counts WHERE enrollments < 0 OR placed < 0 OR placed > enrollments").n).toBe(0);
  expect(one<{ n: number }>("SELECT count(*) AS n FROM trainee_counts WHERE trainees < 0").n).toBe(0);
}

/** Every row of a table in a stable order: by rowid, or by its key for a table without rowid. */
export function rowsInOrder(sqlite: Database, table: string): unknown[] {
  const { wr } = sqlite.query("SELECT wr FROM pragma_table_list(?)").get(table) as { wr: number };
  const key = wr
    ? (sqlite.query("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk").all(table) as { name: string }[]).map((c) => `"${c.name}"`).join(", ")
    : "rowid";
  return sqlite.query(`SELECT * FROM "${table}" ORDER BY ${key}`).all();
}
