import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { keyOf, newKeyText, writeSealed } from "../../src/services/sealed-files.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { eq } from "drizzle-orm";
import * as XLSX from "xlsx";
import { users } from "../../src/db/schema.ts";
import { drainUploads, finishUpload } from "../../src/jobs/uploads.ts";
import { drainMasterData } from "../../src/jobs/master-data.ts";
import { claimNext, LEASE_MS } from "../../src/jobs/queue.ts";
import { saveDeclaration, sinceVersion, traineeLine } from "../../src/services/enrollments.ts";
import { applyPlan, loadEnrollmentFacts, RowEvaluator } from "../../src/services/uploads.ts";
import { referenceCodes } from "../../src/services/reference-lists.ts";
import { scopeOf } from "../../src/services/scope.ts";
import { excelSerial, isoFromSerial, readVersion, swapDayMonth, versionText } from "../../src/sheets/cells.ts";
import { matchHeader, TRAINEE_COLUMNS } from "../../src/sheets/columns.ts";
import { MASTER_COLUMNS } from "../../src/sheets/master-columns.ts";
import { windows1252 } from "../helpers/bad-files.ts";
import { excelCsvEnglish, excelCsvItalian, type ExcelCsvCell } from "../helpers/excel-csv.ts";
import {
  bookAndDownload,
  col,
  enrollmentOfRow,
  isoPlusDays,
  italianDate,
  openEdit,
  readRows,
  saveEdit,
  signedIn,
  tables,
  upload,
  uploadAndRun,
  uploadMasterData,
  withRows,
  type Sheet,
} from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp, type TestClient } from "../helpers/test-app.ts";

// Imports run in a worker thread that spawns a child process per file.
setDefaultTimeout(60_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let clerk: TestClient;
let q: ReturnType<typeof tables>;

beforeAll(async () => {
  t = await createTestApp({ enrollments: 2000 });
  f = fixtures(t.db);
  q = tables(t);
  clerk = await signedIn(t, f.rpaA);
});
afterAll(() => t.close());

type Enrollment = Record<string, string | number | null> & { id: number; revision: number };
const enrollment = (id: number) => q.one<Enrollment>("SELECT * FROM enrollments WHERE id = ?", id);
const agencyState = () => q.all<Enrollment>("SELECT * FROM enrollments WHERE agency_id = ? ORDER BY id", f.agencyA.id);
const projectEnd = (id: number) =>
  q.one<{ end_date: string }>("SELECT p.end_date FROM enrollments e JOIN projects p ON p.id = e.project_id WHERE e.id = ?", id).end_date;

// Every test takes rows no other test has touched, so that they do not depend on each other.
const taken = new Set<number>();
function pick(rows: Sheet, where: (row: unknown[]) => boolean, count = 1): number[] {
  const found: number[] = [];
  for (let i = 1; i < rows.length && found.length < count; i++) {
    const id = enrollmentOfRow(t, rows[i]!).id;
    if (!taken.has(id) && where(rows[i]!)) {
      taken.add(id);
      found.push(i);
    }
  }
  expect(found).toHaveLength(count);
  return found;
}
/** Agency A's file rows judged as the job judges them, against the enrollments as they are now. */
function judgedNow(rows: Sheet): RowEvaluator {
  const evaluator = new RowEvaluator({
    positions: matchHeader(rows[0]!.map(String)).positions,
    facts: loadEnrollmentFacts(t.db.$client, f.agencyA.id, 2019),
    codes: referenceCodes(t.db),
    year: 2019,
    today: "2020-09-15",
    since: (facts, version) => sinceVersion(t.db.$client, facts, version),
  });
  rows.slice(1).forEach((cells, k) => evaluator.add({ line: k + 2, cells: cells.map((v) => (v === "" ? null : (v as string))) }));
  return evaluator;
}

const mixed = (row: unknown[]) => row[col("homogeneous")] === "NO";
const declared = (row: unknown[]) => mixed(row) && row[col("fasciaDebole")] !== "";
const placedWithDetails = (row: unknown[]) => mixed(row) && row[col("placed")] === "SI" && row[col("employerVat")] !== "" && row[col("employerName")] !== "";
const notPlaced = (row: unknown[]) => mixed(row) && row[col("placed")] === "";
const other = (code: unknown, ...more: string[]) => ["GIOV", "DISAB", "OVER50", "NODIP"].find((c) => c !== code && !more.includes(c))!;

/** The hire date of a file row as ISO, whatever the cell holds. */
const hireOf = (row: unknown[]) => (typeof row[col("hireDate")] === "number" ? isoFromSerial(row[col("hireDate")] as number) : null);

/** An export's rows as Excel writes them to CSV: dates as date cells, the rest as shown. */
const asExcelCells = (rows: Sheet): ExcelCsvCell[][] =>
  rows.map((row, i) =>
    row.map((v, c) => (i > 0 && c === col("hireDate") && typeof v === "number" ? { date: isoFromSerial(v)! } : v === "" ? null : (v as string))),
  );

async function pageEdit(enrollmentId: number, change: Record<string, string>, by = clerk) {
  const form = await openEdit(t, by, enrollmentId);
  const response = await saveEdit(t, by, enrollmentId, { ...form, ...change });
  const html = await response.text();
  expect({ status: response.status, html }).toMatchObject({ status: 200 });
  return { status: response.status, html };
}

describe("dates are judged on the file as a whole", () => {
  test("a CSV written month-first, as Excel in English saves it, is refused at upload", async () => {
    const rows = readRows(await bookAndDownload(t, clerk));
    const [i] = pick(rows, notPlaced);
    const row = rows[i!]!;
    row[col("placed")] = "SI";
    row[col("hireDate")] = excelSerial(isoPlusDays(projectEnd(enrollmentOfRow(t, row).id), 40).replace(/-\d\d$/, "-24"));
    row[col("contractType")] = "STD";
    const before = q.one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n;
    const answer = await upload(clerk, excelCsvEnglish(asExcelCells(rows)) as Uint8Array<ArrayBuffer>, "english.csv");
    expect(answer.status).toBe(422);
    expect(answer.html).toContain("date scritte come mese/giorno/anno");
    expect(answer.html).toContain("gg/mm/aaaa");
    expect(q.one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n).toBe(before);
  });

  test("pre-filled dates coming back with day and month swapped fail the job before any row is applied", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const swappable = (row: unknown[]) => {
      const hire = hireOf(row);
      return mixed(row) && hire !== null && swapDayMonth(hire) !== null;
    };
    const [a, b] = pick(rows, swappable, 2);
    const [c] = pick(rows, mixed);
    for (const i of [a!, b!]) rows[i]![col("hireDate")] = excelSerial(swapDayMonth(hireOf(rows[i]!)!)!);
    rows[c!]![col("fasciaDebole")] = other(rows[c!]![col("fasciaDebole")]);
    const before = agencyState();
    const { answer, job } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(answer.status).toBe(200);
    expect(job!.status).toBe("failed");
    expect(job!.error).toContain("giorno e mese scambiati");
    expect(job!.error).toContain("nessuna riga è stata applicata");
    expect(agencyState()).toEqual(before);
  });

  test("one corrected date is not evidence: it is applied", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, (row) => {
      const hire = hireOf(row);
      const swapped = hire && swapDayMonth(hire);
      return mixed(row) && !!swapped && swapped > projectEnd(enrollmentOfRow(t, row).id) && swapped <= "2020-09-15";
    });
    const target = enrollmentOfRow(t, rows[i!]!);
    const corrected = swapDayMonth(hireOf(rows[i!]!)!)!;
    rows[i!]![col("hireDate")] = excelSerial(corrected);
    const { job, outcomes } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(job!.status).toBe("done");
    expect(outcomes.get(i! + 1)!.outcome).toBe("OK");
    expect(enrollment(target.id).hire_date).toBe(corrected);
  });

  test("a date with a time of day is that day, in text and as a serial with a fraction", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [a, b] = pick(rows, notPlaced, 2);
    const day = (i: number) => isoPlusDays(projectEnd(enrollmentOfRow(t, rows[i]!).id), 30);
    const [dayA, dayB] = [day(a!), day(b!)];
    Object.assign(rows[a!]!, { [col("placed")]: "SI", [col("hireDate")]: `${italianDate(dayA)} 18:00`, [col("contractType")]: "STI" });
    Object.assign(rows[b!]!, { [col("placed")]: "SI", [col("hireDate")]: excelSerial(dayB) + 0.75, [col("contractType")]: "STI" });
    const { job } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(job!.rows_ok).toBe(2);
    expect(enrollmentOfRow(t, rows[a!]!).hire_date).toBe(dayA);
    expect(enrollmentOfRow(t, rows[b!]!).hire_date).toBe(dayB);
  });

  test("a hire date after the day of the upload is KO", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, notPlaced);
    Object.assign(rows[i!]!, { [col("placed")]: "SI", [col("hireDate")]: "16/09/2020", [col("contractType")]: "APP" });
    const { outcomes } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(outcomes.get(i! + 1)).toMatchObject({ outcome: "KO" });
    expect(outcomes.get(i! + 1)!.message).toContain("«16/09/2020» è una data futura");
    // The e-mail gives the reason, not the date written.
    const mail = q.one<{ text_body: string }>("SELECT text_body FROM mail_outbox ORDER BY id DESC LIMIT 1").text_body;
    expect(mail).toContain("è una data futura");
    expect(mail).not.toContain("16/09/2020");
    expect(enrollmentOfRow(t, rows[i!]!).placed).toBeNull();
  });

  test.each(["America/New_York", "Asia/Tokyo", "Europe/Rome"])("an .ods date cell is that day on a server in %s", async (zone) => {
    // A minimal .ods, as a spreadsheet program writes a date cell: office:date-value.
    const cell = (text: string) => `<table:table-cell office:value-type="string"><text:p>${text}</text:p></table:table-cell>`;
    const content = `<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="Allievi">
<table:table-row>${TRAINEE_COLUMNS.map((c) => cell(c.header)).join("")}</table:table-row>
<table:table-row>${TRAINEE_COLUMNS.map((c) =>
      c.kind === "date" ? '<table:table-cell office:value-type="date" office:date-value="2020-03-15"><text:p>15/03/2020</text:p></table:table-cell>' : cell("x"),
    ).join("")}</table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>`;
    const ods = zipSync({
      mimetype: [strToU8("application/vnd.oasis.opendocument.spreadsheet"), { level: 0 }],
      "content.xml": strToU8(content),
      "styles.xml": strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>',
      ),
      "META-INF/manifest.xml": strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
      ),
    });
    const dir = mkdtempSync(join(tmpdir(), "placement-ods-"));
    const key = newKeyText();
    writeSealed(join(dir, "date.ods"), keyOf(key), ods);
    // The server's zone is the process's: a separate process in that zone reads the file.
    const script = `import { parseInChild, PARSE_LIMITS } from ${JSON.stringify(join(import.meta.dir, "../../src/jobs/parse-runner.ts"))};
      import { keyOf } from ${JSON.stringify(join(import.meta.dir, "../../src/services/sealed-files.ts"))};
      for await (const m of parseInChild(${JSON.stringify(join(dir, "date.ods"))}, { headerOnly: false, limits: PARSE_LIMITS.full, keys: [keyOf(${JSON.stringify(key)})] })) console.log(JSON.stringify(m));`;
    const run = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, TZ: zone } });
    const messages = run.stdout.toString().trim().split("\n").map((line) => JSON.parse(line));
    const cells = messages.find((m) => m.t === "rows")?.rows[0]?.cells ?? messages;
    expect(isoFromSerial(cells[col("hireDate")] as number)).toBe("2020-03-15");
  });
});

describe("a stale file never reverts a newer change", () => {
  test("a page edit after the download: the untouched old file leaves it and says when and by whom", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, declared);
    const target = enrollmentOfRow(t, rows[i!]!);
    const code = other(rows[i!]![col("fasciaDebole")]);
    expect((await pageEdit(target.id, { fascia: code })).status).toBe(200);
    const after = agencyState();
    const { job, outcomes } = await uploadAndRun(t, clerk, original);
    expect(job!.status).toBe("done");
    expect(job!.rows_ok).toBe(0);
    expect(outcomes.get(i! + 1)!.outcome).toBe("INVARIATO");
    expect(outcomes.get(i! + 1)!.message).toContain("Fascia debole: non aggiornato perché modificato dopo il download");
    expect(outcomes.get(i! + 1)!.message).toContain("modifica dalla pagina");
    const name = q.one<{ name: string }>("SELECT name FROM users WHERE email = ?", f.rpaA).name;
    expect(outcomes.get(i! + 1)!.message).toContain(`da ${name}`);
    expect(agencyState()).toEqual(after);
  });

  test("a corrected upload after the download: the old file uploaded again leaves it", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, declared);
    const code = other(rows[i!]![col("fasciaDebole")]);
    const changed = rows.map((r) => [...r]);
    changed[i!]![col("fasciaDebole")] = code;
    const first = await uploadAndRun(t, clerk, withRows(original, changed));
    expect(first.outcomes.get(i! + 1)!.outcome).toBe("OK");
    const { job, outcomes } = await uploadAndRun(t, clerk, original);
    expect(outcomes.get(i! + 1)!.outcome).toBe("INVARIATO");
    expect(outcomes.get(i! + 1)!.message).toContain(`caricamento n. ${first.job!.id}`);
    expect(job!.rows_ok).toBe(0);
    expect(enrollmentOfRow(t, rows[i!]!).fascia_debole).toBe(code);
  });

  test("all three different is a conflict: KO, naming the current value and who set it; the other rows apply", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i, j] = pick(rows, mixed, 2);
    const downloaded = rows[i!]![col("fasciaDebole")];
    const theirs = other(downloaded);
    const mine = other(downloaded, theirs);
    await pageEdit(enrollmentOfRow(t, rows[i!]!).id, { fascia: theirs });
    rows[i!]![col("fasciaDebole")] = mine;
    rows[j!]![col("fasciaDebole")] = other(rows[j!]![col("fasciaDebole")]);
    const { job, outcomes } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(job!.status).toBe("done_with_errors");
    expect(outcomes.get(i! + 1)!.outcome).toBe("KO");
    expect(outcomes.get(i! + 1)!.message).toContain(`Fascia debole: in conflitto con una modifica fatta dopo il download; ora vale «${theirs}»`);
    expect(outcomes.get(i! + 1)!.message).toContain("modifica dalla pagina");
    expect(outcomes.get(i! + 1)!.message).toContain("svuota la cella Versione");
    expect(enrollmentOfRow(t, rows[i!]!).fascia_debole).toBe(theirs);
    expect(outcomes.get(j! + 1)!.outcome).toBe("OK");
  });

  test("the outcome file carries the new versions: uploaded again, even after a later edit, it reverts nothing", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, mixed);
    const code = other(rows[i!]![col("fasciaDebole")]);
    rows[i!]![col("fasciaDebole")] = code;
    const first = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(first.outcomes.get(i! + 1)!.outcome).toBe("OK");
    const outcomeFile = new Uint8Array(await (await clerk.request(`/placement/caricamenti/${first.job!.id}/esito`)).arrayBuffer());
    const outcomeRows = readRows(outcomeFile);
    const target = enrollmentOfRow(t, rows[i!]!);
    expect(outcomeRows[i!]![col("version")]).toBe(versionText({ enrollmentId: target.id, revision: target.revision }));
    expect(outcomeRows[i! + 1]![col("version")]).toBe(rows[i! + 1]![col("version")]);

    const again = await uploadAndRun(t, clerk, outcomeFile);
    expect(again.job!.status).toBe("done");
    expect(again.job!.rows_ok).toBe(0);
    const later = other(code, rows[i!]![col("fasciaDebole")] as string);
    await pageEdit(target.id, { fascia: later });
    const third = await uploadAndRun(t, clerk, outcomeFile);
    expect(third.job!.rows_ok).toBe(0);
    expect(third.outcomes.get(i! + 1)!.outcome).toBe("INVARIATO");
    expect(enrollment(target.id).fascia_debole).toBe(later);
  });

  test("the same stale file uploaded twice back to back reverts nothing either time", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i, j] = pick(rows, mixed, 2);
    const edited = other(rows[i!]![col("fasciaDebole")]);
    await pageEdit(enrollmentOfRow(t, rows[i!]!).id, { fascia: edited });
    const mine = other(rows[j!]![col("fasciaDebole")]);
    rows[j!]![col("fasciaDebole")] = mine;
    const file = withRows(original, rows);
    await upload(clerk, file);
    await upload(clerk, file);
    await drainUploads(t.deps);
    const [second, first] = q.all<{ id: number; rows_ok: number }>("SELECT id, rows_ok FROM import_jobs ORDER BY id DESC LIMIT 2");
    expect([first!.rows_ok, second!.rows_ok]).toEqual([1, 0]);
    expect(enrollmentOfRow(t, rows[i!]!).fascia_debole).toBe(edited);
    expect(enrollmentOfRow(t, rows[j!]!).fascia_debole).toBe(mine);
  });

  test("a stale form is a conflict for the field changed meanwhile, and never overwrites it", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, notPlaced);
    const target = enrollmentOfRow(t, rows[i!]!);
    const form = await openEdit(t, clerk, target.id);
    const uploaded = other(rows[i!]![col("fasciaDebole")]);
    rows[i!]![col("fasciaDebole")] = uploaded;
    await uploadAndRun(t, clerk, withRows(original, rows));

    const conflict = await saveEdit(t, clerk, target.id, { ...form, fascia: other(uploaded, form.fascia!) });
    expect(conflict.status).toBe(422);
    expect(await conflict.text()).toContain(`Fascia debole: nel frattempo è stato modificato e ora vale «${uploaded}»`);
    expect(enrollment(target.id).fascia_debole).toBe(uploaded);

    // The same stale form changing only another field: that field is saved, the upload's value stays.
    const hire = isoPlusDays(projectEnd(target.id), 3);
    const saved = await saveEdit(t, clerk, target.id, { ...form, placement: "SI", data: hire, contratto: "DTD" });
    expect(saved.status).toBe(200);
    expect(enrollment(target.id)).toMatchObject({ fascia_debole: uploaded, placed: 1, hire_date: hire, contract_type: "DTD" });
  });

  test("a page edit made while an upload is judged is never lost: the rows are judged again", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, mixed);
    const target = enrollmentOfRow(t, rows[i!]!);
    const mine = other(rows[i!]![col("fasciaDebole")]);
    rows[i!]![col("fasciaDebole")] = mine;
    await upload(clerk, withRows(original, rows));
    const claim = claimNext(t.db, "import_jobs", t.clock.now(), "agency")!;
    const evaluator = judgedNow(rows);
    expect(evaluator.rows[i! - 1]!.outcome).toBe("OK");

    // Meanwhile the clerk's colleague saves the same trainee on the page.
    const user = t.db.select().from(users).where(eq(users.email, f.referentA)).get()!;
    const theirs = other(mine, rows[i!]![col("fasciaDebole")] as string);
    const line = traineeLine(t.db, scopeOf({ role: "rpa", agencyId: f.agencyA.id }), Number(target.class_id), target.id)!;
    const edit = saveDeclaration(t.db, t.clock, user, line, {
      input: { fasciaDebole: theirs, placed: "", hireDate: "", contractType: "", employerVat: "", employerName: "" },
      version: readVersion(String(rows[i!]![col("version")])),
    }, () => {});
    expect(edit.ok).toBe(true);

    expect(await finishUpload(t.db, t.clock, claim, user.id, applyPlan(evaluator), "/nowhere", () => {}, async () => true)).toBe("stale");
    expect(enrollment(target.id).fascia_debole).toBe(theirs);
    expect(q.one<{ status: string }>("SELECT status FROM import_jobs WHERE id = ?", claim.id).status).toBe("running");

    t.clock.advance(LEASE_MS + 1);
    await drainUploads(t.deps);
    const outcome = q.one<{ outcome: string }>("SELECT outcome FROM import_row_outcomes WHERE import_job_id = ? AND row_number = ?", claim.id, i! + 1);
    expect(outcome.outcome).toBe("KO");
    expect(enrollment(target.id).fascia_debole).toBe(theirs);
  });

  test("a plan applied in parts is applied whole or not at all: an edit to its last row leaves its first rows as they were", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const free = rows.flatMap((row, i) => (i > 0 && mixed(row) && !taken.has(enrollmentOfRow(t, row).id) ? [i] : []));
    const changed = [free[0]!, free.at(-1)!];
    const [first, last] = changed as [number, number];
    for (const i of changed) rows[i]![col("fasciaDebole")] = other(rows[i]![col("fasciaDebole")]);
    await upload(clerk, withRows(original, rows));
    const claim = claimNext(t.db, "import_jobs", t.clock.now(), "agency")!;
    const evaluator = judgedNow(rows);
    const plan = applyPlan(evaluator);
    const parts = [...plan.parts];
    // The first and the last changed rows travel in different parts.
    const partOf = (i: number) => parts.findIndex((part) => "changes" in part && part.changes.some((c) => c.id === enrollmentOfRow(t, rows[i]!).id));
    expect(partOf(first)).toBe(0);
    expect(partOf(last)).toBeGreaterThan(0);
    expect(parts.filter((part) => "outcomes" in part).flatMap((part) => ("outcomes" in part ? part.outcomes : [])).length).toBe(rows.length - 1);

    const before = enrollment(enrollmentOfRow(t, rows[first]!).id);
    const target = enrollmentOfRow(t, rows[last]!);
    const user = t.db.select().from(users).where(eq(users.email, f.referentA)).get()!;
    const line = traineeLine(t.db, scopeOf({ role: "rpa", agencyId: f.agencyA.id }), Number(target.class_id), target.id)!;
    const theirs = other(rows[last]![col("fasciaDebole")], String(target.fascia_debole ?? ""));
    const edit = saveDeclaration(t.db, t.clock, user, line, {
      input: { fasciaDebole: theirs, placed: "", hireDate: "", contractType: "", employerVat: "", employerName: "" },
      version: readVersion(String(rows[last]![col("version")])),
    }, () => {});
    expect(edit.ok).toBe(true);

    expect(await finishUpload(t.db, t.clock, claim, user.id, { ...plan, parts }, "/nowhere", () => {}, async () => true)).toBe("stale");
    expect(enrollment(before.id)).toEqual(before);
    expect(q.one<{ n: number }>("SELECT count(*) AS n FROM import_row_outcomes WHERE import_job_id = ?", claim.id).n).toBe(0);

    // Judged again by the real job: every other changed row applied, the edited one KO.
    t.clock.advance(LEASE_MS + 1);
    await drainUploads(t.deps);
    const job = q.one<{ status: string; rows_ok: number; rows_ko: number }>("SELECT status, rows_ok, rows_ko FROM import_jobs WHERE id = ?", claim.id);
    expect(job).toMatchObject({ status: "done_with_errors", rows_ok: changed.length - 1, rows_ko: 1 });
    expect(enrollment(before.id).fascia_debole).toBe(String(rows[first]![col("fasciaDebole")]));
    expect(enrollment(target.id).fascia_debole).toBe(theirs);
    for (const i of changed) taken.add(enrollmentOfRow(t, rows[i]!).id);
  });
});

describe("a change and its audit entry", () => {
  test("are saved together or not at all: when the entry cannot be written, neither the edit nor the upload goes in", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, declared);
    const target = enrollmentOfRow(t, rows[i!]!);
    const form = await openEdit(t, clerk, target.id);
    const jobs = () => q.one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n;
    const before = { enrollment: enrollment(target.id), jobs: jobs() };
    t.db.$client.exec("CREATE TEMP TRIGGER audit_full BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    try {
      const edit = await saveEdit(t, clerk, target.id, { ...form, fascia: other(rows[i!]![col("fasciaDebole")]) });
      expect(edit.status).toBe(503);
      rows[i!]![col("fasciaDebole")] = other(rows[i!]![col("fasciaDebole")]);
      expect((await upload(clerk, withRows(original, rows))).status).toBe(503);
    } finally {
      t.db.$client.exec("DROP TRIGGER audit_full");
    }
    expect(enrollment(target.id)).toEqual(before.enrollment);
    expect(jobs()).toBe(before.jobs);
  });
});

describe("the Versione column", () => {
  test("edited to nonsense, or copied from another row, the row is KO with a sentence; the others apply", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [a, b, c] = pick(rows, mixed, 3);
    for (const i of [a!, b!, c!]) rows[i]![col("fasciaDebole")] = other(rows[i]![col("fasciaDebole")]);
    rows[a!]![col("version")] = "ABC123";
    rows[b!]![col("version")] = rows[c!]![col("version")];
    const { job, outcomes } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(job!.rows_ko).toBe(2);
    expect(outcomes.get(a! + 1)!.message).toContain("Versione: il valore non è quello scaricato");
    expect(outcomes.get(b! + 1)!.message).toContain("Versione: appartiene a un'altra riga del file scaricato");
    expect(outcomes.get(c! + 1)!.outcome).toBe("OK");
  });

  test("a file without the column follows the two-way rule", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, mixed);
    const target = enrollmentOfRow(t, rows[i!]!);
    await pageEdit(target.id, { fascia: other(rows[i!]![col("fasciaDebole")]) });
    const mine = other(rows[i!]![col("fasciaDebole")], enrollment(target.id).fascia_debole as string);
    rows[i!]![col("fasciaDebole")] = mine;
    const withoutVersion = rows.map((r) => r.slice(0, col("version")));
    const { outcomes } = await uploadAndRun(t, clerk, withRows(original, withoutVersion));
    expect(outcomes.get(i! + 1)!.outcome).toBe("OK");
    expect(enrollment(target.id).fascia_debole).toBe(mine);
  });

  test("a master-data load that makes a mixed class homogeneous: its rows follow the class from then on", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, (r) => mixed(r) && r[col("fasciaDebole")] === "NO");
    const target = enrollmentOfRow(t, rows[i!]!);
    const classRows = q.all<Record<string, string | null>>(
      `SELECT a.code AS agencyCode, p.code AS projectCode, p.title AS projectTitle, p.training_type AS trainingType, p.year,
              p.start_date AS startDate, p.end_date AS endDate, c.code AS classCode, pa.codice_fiscale AS codiceFiscale,
              pa.surname, pa.name, pa.birth_date AS birthDate, e.id
       FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = e.project_id
       JOIN participants pa ON pa.id = e.participant_id JOIN agencies a ON a.id = e.agency_id WHERE e.class_id = ?`,
      Number(target.class_id),
    );
    for (const r of classRows) taken.add(Number(r.id));
    const master: Record<string, string | null> = { homogeneous: "SI", classCategory: "DISAB" };
    const sheet = [
      MASTER_COLUMNS.map((c) => c.header),
      ...classRows.map((r) =>
        MASTER_COLUMNS.map((c) => {
          const value = master[c.key] ?? r[c.key] ?? "";
          return c.date && value ? italianDate(String(value)) : String(value);
        }),
      ),
    ];
    const workbook = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(workbook, XLSX.utils.aoa_to_sheet(sheet), "Anagrafica");
    const fund = await signedIn(t, f.fund, { page: "/amministrazione/anagrafiche" });
    expect((await uploadMasterData(fund, XLSX.write(workbook, { type: "buffer", bookType: "xlsx" }), "anagrafiche.xlsx")).status).toBe(200);
    await drainMasterData(t.deps);
    expect(enrollment(target.id)).toMatchObject({ homogeneous: 1, fascia_debole: "DISAB" });

    // Untouched, the row says NO where the class now says DISAB: refused with the reason.
    const classLines = rows.flatMap((r, k) => (k > 0 && enrollmentOfRow(t, r).class_id === target.class_id ? [k] : []));
    const untouched = await uploadAndRun(t, clerk, original);
    expect(untouched.outcomes.get(i! + 1)).toMatchObject({ outcome: "KO" });
    expect(untouched.outcomes.get(i! + 1)!.message).toContain("l'aula è omogenea, con categoria «DISAB»");
    const mail = q.one<{ text_body: string }>("SELECT text_body FROM mail_outbox ORDER BY id DESC LIMIT 1").text_body;
    expect(mail).toContain("l'aula è omogenea");
    expect(mail).not.toContain("DISAB");
    for (const k of classLines) {
      if (rows[k]![col("fasciaDebole")] === "") expect(untouched.outcomes.get(k + 1)!.outcome).not.toBe("KO");
    }
    rows[i!]![col("fasciaDebole")] = "DISAB";
    const repeated = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(repeated.outcomes.get(i! + 1)!.outcome).toBe("INVARIATO");
    expect(enrollment(target.id).fascia_debole).toBe("DISAB");
  });
});

describe("empty cells, dashes and NO", () => {
  test("emptying the P.IVA or the employer changes nothing; a dash clears them", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i, j] = pick(rows, placedWithDetails, 2);
    const before = enrollmentOfRow(t, rows[i!]!);
    rows[i!]![col("employerVat")] = "";
    rows[i!]![col("employerName")] = "";
    rows[j!]![col("employerVat")] = "-";
    rows[j!]![col("employerName")] = " - ";
    const { outcomes } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(outcomes.get(i! + 1)!.outcome).toBe("INVARIATO");
    expect(enrollmentOfRow(t, rows[i!]!)).toMatchObject({ employer_vat: before.employer_vat, employer_name: before.employer_name });
    expect(outcomes.get(j! + 1)!.outcome).toBe("OK");
    expect(enrollmentOfRow(t, rows[j!]!)).toMatchObject({ employer_vat: null, employer_name: null, placed: 1 });
  });

  test("Placement NO clears the hiring, with the downloaded details left in their cells", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, placedWithDetails);
    rows[i!]![col("placed")] = "NO";
    const { outcomes } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(outcomes.get(i! + 1)!.outcome).toBe("OK");
    expect(enrollmentOfRow(t, rows[i!]!)).toMatchObject({ placed: 0, hire_date: null, contract_type: null, employer_vat: null, employer_name: null });
  });

  test("on the class page, emptying a field and saving clears it", async () => {
    const rows = readRows(await bookAndDownload(t, clerk));
    const [i] = pick(rows, placedWithDetails);
    const target = enrollmentOfRow(t, rows[i!]!);
    const saved = await pageEdit(target.id, { piva: "", datore: "" });
    expect(saved.status).toBe(200);
    expect(enrollment(target.id)).toMatchObject({ placed: 1, employer_vat: null, employer_name: null });
  });
});

describe("one reading of enrollments", () => {
  test("in a homogeneous class every page shows the class's category, whatever the row still holds", async () => {
    const line = q.one<{ id: number; project_id: number; class_id: number; category: string; cf: string }>(
      `SELECT e.id, e.project_id, e.class_id, c.category, pa.codice_fiscale AS cf FROM enrollments e
       JOIN classes c ON c.id = e.class_id JOIN participants pa ON pa.id = e.participant_id
       WHERE e.agency_id = ? AND c.homogeneous = 1 ORDER BY e.id LIMIT 1`,
      f.agencyA.id,
    );
    taken.add(line.id);
    // A declaration left from before the class became homogeneous.
    q.one("UPDATE enrollments SET fascia_debole = 'NO' WHERE id = ?", line.id);
    const cellsOf = (html: string) => html.split("<tr").find((r) => r.includes(line.cf))!;
    for (const path of [`/progetti/${line.project_id}`, `/progetti/${line.project_id}/aule/${line.class_id}`]) {
      const row = cellsOf(await (await clerk.get(path)).text());
      expect(row, path).toContain(`<td>${line.category}</td>`);
    }
  });
});

describe("codes the fund has disabled", () => {
  test("an untouched file stays INVARIATO; a new use of a disabled code is KO as no longer in use", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const category = q.one<{ category: string }>(
      "SELECT c.category FROM classes c JOIN projects p ON p.id = c.project_id WHERE p.agency_id = ? AND c.homogeneous = 1 LIMIT 1",
      f.agencyA.id,
    ).category;
    const contract = q.one<{ contract_type: string }>("SELECT contract_type FROM enrollments WHERE agency_id = ? AND placed = 1 LIMIT 1", f.agencyA.id).contract_type;
    q.one("UPDATE vulnerable_categories SET active = 0 WHERE code = ?", category);
    q.one("UPDATE contract_types SET active = 0 WHERE code = ?", contract);
    try {
      const before = agencyState();
      const untouched = await uploadAndRun(t, clerk, original);
      expect(untouched.job!.rows_ko).toBe(0);
      expect(untouched.job!.rows_ok).toBe(0);
      expect(agencyState()).toEqual(before);

      const [i] = pick(rows, (r) => mixed(r) && r[col("fasciaDebole")] !== category);
      rows[i!]![col("fasciaDebole")] = category;
      const { outcomes } = await uploadAndRun(t, clerk, withRows(original, rows));
      expect(outcomes.get(i! + 1)!.message).toBe(`Fascia debole: il codice «${category}» non è più in uso; scrivi NO o un codice della Legenda.`);
    } finally {
      q.one("UPDATE vulnerable_categories SET active = 1 WHERE code = ?", category);
      q.one("UPDATE contract_types SET active = 1 WHERE code = ?", contract);
    }
  });
});

describe("files saved by other programs", () => {
  /** The CSV export opened and saved as .xlsx or .ods: one sheet, named after the file. */
  async function csvExportSavedAs(bookType: "xlsx" | "ods") {
    const csv = await bookAndDownload(t, clerk, "csv");
    const text = new TextDecoder().decode(csv.subarray(3));
    const rows = XLSX.utils.sheet_to_json<unknown[]>(XLSX.read(text, { type: "string", FS: ";", raw: true }).Sheets.Sheet1!, { header: 1, defval: "", raw: true });
    const workbook = XLSX.utils.book_new();
    const name = q.one<{ id: number }>("SELECT id FROM export_jobs ORDER BY id DESC LIMIT 1").id;
    XLSX.utils.book_append_sheet(workbook, XLSX.utils.aoa_to_sheet(rows), `fasce-deboli_${f.agencyA.code}_2019_${name}`);
    return { rows: rows as Sheet, workbook, bytes: () => new Uint8Array(XLSX.write(workbook, { type: "buffer", bookType })), sheet: workbook.SheetNames[0]! };
  }

  test.each(["xlsx", "ods"] as const)("the CSV export saved as .%s is accepted, and the page says which sheet was read", async (bookType) => {
    const saved = await csvExportSavedAs(bookType);
    const [i] = pick(saved.rows, mixed);
    saved.rows[i!]![col("fasciaDebole")] = other(saved.rows[i!]![col("fasciaDebole")]);
    saved.workbook.Sheets[saved.sheet] = XLSX.utils.aoa_to_sheet(saved.rows);
    const { answer, job, outcomes } = await uploadAndRun(t, clerk, saved.bytes(), `salvato.${bookType}`);
    expect(answer.status).toBe(200);
    expect(answer.html).toContain(`foglio «${saved.sheet}»`);
    expect(job!.sheet_name).toBe(saved.sheet);
    expect(job!.status).toBe("done");
    expect(outcomes.get(i! + 1)!.outcome).toBe("OK");
  });

  test("of several sheets, none named Allievi, the one with the file's columns is read", async () => {
    const original = await bookAndDownload(t, clerk);
    const workbook = XLSX.read(original);
    const renamed = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(renamed, XLSX.utils.aoa_to_sheet([["Note"], ["appunti del cliente"]]), "Note");
    XLSX.utils.book_append_sheet(renamed, workbook.Sheets.Allievi!, "Foglio1");
    const { answer, job } = await uploadAndRun(t, clerk, new Uint8Array(XLSX.write(renamed, { type: "buffer", bookType: "xlsx" })));
    expect(answer.html).toContain("foglio «Foglio1»");
    expect(job!.status).toBe("done");
  });
});

describe("encodings", () => {
  test("a CSV in UTF-8 but for one byte is refused at upload, rather than read with garbled letters", async () => {
    const csv = await bookAndDownload(t, clerk, "csv");
    const text = new TextDecoder().decode(csv);
    const bytes = new Uint8Array([...new TextEncoder().encode(`${text}X;Y;Ospitalità;`), 0xe0, 0x0d, 0x0a]);
    const answer = await upload(clerk, bytes, "misto.csv");
    expect(answer.status).toBe(422);
    expect(answer.html).toContain("mescola codifiche di caratteri diverse");
  });

  test("a CSV in Windows-1252, as Excel in Italy saves it, is read with its accents", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, placedWithDetails);
    rows[i!]![col("employerName")] = "Ospitalità & Caffè S.r.l.";
    const { job, outcomes } = await uploadAndRun(t, clerk, excelCsvItalian(asExcelCells(rows)) as Uint8Array<ArrayBuffer>, "italiano.csv");
    expect(job!.status).toBe("done");
    expect(outcomes.get(i! + 1)!.outcome).toBe("OK");
    expect(enrollmentOfRow(t, rows[i!]!).employer_name).toBe("Ospitalità & Caffè S.r.l.");
    expect(windows1252("à")).toEqual(new Uint8Array([0xe0]));
  });
});

describe("values that start with a TAB or hold a CR", () => {
  test.each(["xlsx", "csv"] as const)("round-trip through the .%s as INVARIATO, the CR kept", async (format) => {
    const rows = readRows(await bookAndDownload(t, clerk));
    const [i, j] = pick(rows, placedWithDetails, 2);
    const [a, b] = [enrollmentOfRow(t, rows[i!]!), enrollmentOfRow(t, rows[j!]!)];
    q.one("UPDATE enrollments SET employer_name = ? WHERE id = ?", "\tTabulazioni S.r.l.", a.id);
    q.one("UPDATE enrollments SET employer_name = ? WHERE id = ?", "Ritorni\rS.p.A.", b.id);
    const before = agencyState();
    const file = await bookAndDownload(t, clerk, format);
    const { job } = await uploadAndRun(t, clerk, file, `invariato.${format}`);
    expect(job!.status).toBe("done");
    expect(job!.rows_ok).toBe(0);
    expect(agencyState()).toEqual(before);
    expect(enrollment(b.id).employer_name).toBe("Ritorni\rS.p.A.");
  });
});

describe("partita IVA", () => {
  test("all zeros, or an office code 000, is KO even with a right check digit", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i, j] = pick(rows, placedWithDetails, 2);
    rows[i!]![col("employerVat")] = "00000000000";
    rows[j!]![col("employerVat")] = "12345670009";
    const { outcomes } = await uploadAndRun(t, clerk, withRows(original, rows));
    expect(outcomes.get(i! + 1)!.message).toContain("le prime sette cifre non possono essere tutte zero");
    expect(outcomes.get(j! + 1)!.message).toContain("non indicano un ufficio dell'Agenzia delle Entrate");
  });
});

describe("Storico on the class page", () => {
  test("each trainee's changes: who, when, which field, old → new, through what; the fund reads it; another agency gets 404", async () => {
    const original = await bookAndDownload(t, clerk);
    const rows = readRows(original);
    const [i] = pick(rows, notPlaced);
    const target = enrollmentOfRow(t, rows[i!]!);
    const first = other(rows[i!]![col("fasciaDebole")]);
    rows[i!]![col("fasciaDebole")] = first;
    const { job } = await uploadAndRun(t, clerk, withRows(original, rows));
    const second = other(first, rows[i!]![col("fasciaDebole")] as string);
    await pageEdit(target.id, { fascia: second });

    const url = `/progetti/${target.project_id}/aule/${target.class_id}/iscrizioni/${target.id}/storico`;
    const history = await (await clerk.request(url, { headers: { "HX-Request": "true" } })).text();
    expect(history).toContain(`id="storico-${target.id}"`);
    expect(history).toContain(`Caricamento n. ${job!.id}`);
    expect(history).toContain("Modifica dalla pagina");
    expect(history.indexOf(second)).toBeLessThan(history.indexOf(`Caricamento n. ${job!.id}`));
    expect(history).toContain(first);
    const classPage = await (await clerk.get(`/progetti/${target.project_id}/aule/${target.class_id}`)).text();
    expect(classPage).toContain(`hx-get="${url}"`);

    const fund = await signedIn(t, f.fund);
    expect((await fund.request(url)).status).toBe(200);
    const otherAgency = await signedIn(t, f.rpaB);
    expect((await otherAgency.request(url)).status).toBe(404);
  });
});
