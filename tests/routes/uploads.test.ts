import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as XLSX from "xlsx";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { claimNext, LEASE_MS } from "../../src/jobs/queue.ts";
import { finishUpload } from "../../src/jobs/uploads.ts";
import { sinceVersion } from "../../src/services/enrollments.ts";
import { applyPlan, expireOldUploadFiles, loadEnrollmentFacts, RowEvaluator } from "../../src/services/uploads.ts";
import { referenceCodes } from "../../src/services/reference-lists.ts";
import { matchHeader, TRAINEE_COLUMNS } from "../../src/sheets/columns.ts";
import {
  bookAndDownload,
  col,
  enrollmentOfRow,
  expectCountsKept,
  isoPlusDays,
  italianDate,
  readRows,
  signedIn,
  tables,
  upload,
  withRows,
  type Queries,
  type UploadJob,
} from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp, type TestClient } from "../helpers/test-app.ts";

// Import jobs start a worker thread and a child process.
setDefaultTimeout(60_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let one: Queries["one"];
let all: Queries["all"];

beforeAll(async () => {
  t = await createTestApp();
  f = fixtures(t.db);
  ({ one, all } = tables(t));
});
afterAll(() => t.close());

/** The trainee rows as their cells show them, as text: what this file's round trips edit and write back. */
const textRows = (bytes: Uint8Array) => readRows(bytes, { raw: false });

const lastUpload = () => one<UploadJob>("SELECT * FROM import_jobs ORDER BY id DESC LIMIT 1");

/** Agency A's file with two mixed-class rows set to MINETN, uploaded; what was there before its job. */
async function twoDeclarationsQueued() {
  await drainUploads(t.deps);
  const client = await signedIn(t, f.rpaA);
  const original = await bookAndDownload(t, client);
  const rows = textRows(original);
  const targets = rows.filter((r, i) => i > 0 && r[col("homogeneous")] === "NO" && r[col("fasciaDebole")] !== "MINETN").slice(0, 2);
  expect(targets.length).toBe(2);
  for (const row of targets) row[col("fasciaDebole")] = "MINETN";
  await upload(client, withRows(original, rows));
  return { targets, queued: lastUpload(), before: all("SELECT * FROM enrollments ORDER BY id"), mails: one<{ n: number }>("SELECT count(*) AS n FROM mail_outbox").n };
}

/** A day later the job's next attempt applies the two rows. */
async function appliedAtNextAttempt(id: number, targets: unknown[][]) {
  t.clock.advance(24 * 3600_000);
  await drainUploads(t.deps);
  expect(lastUpload()).toMatchObject({ id, status: "done", rows_ok: targets.length });
  for (const row of targets) expect(enrollmentOf(row).fascia_debole).toBe("MINETN");
}

const enrollmentOf = (row: unknown[]) => enrollmentOfRow(t, row);
const projectEnd = (row: unknown[]) => one<{ end_date: string }>("SELECT end_date FROM projects WHERE code = ?", String(row[col("projectCode")])).end_date;

describe("the round trip", () => {
  test("export → fill as a clerk would → upload → the database and the outcome file say the same", async () => {
    const client = await signedIn(t, f.rpaA);
    const original = await bookAndDownload(t, client);
    const rows = textRows(original);
    const mixed = rows.map((r, i) => [r, i] as const).filter(([r, i]) => i > 0 && r[col("homogeneous")] === "NO");
    expect(mixed.length).toBeGreaterThan(4);
    const [a, b, c, d, e] = mixed.map(([r]) => r) as [unknown[], unknown[], unknown[], unknown[], unknown[]];
    a[col("fasciaDebole")] = "giov";
    b[col("fasciaDebole")] = "NO";
    c[col("placed")] = "SI";
    c[col("hireDate")] = italianDate(isoPlusDays(projectEnd(c), 10));
    c[col("contractType")] = "std";
    c[col("employerVat")] = "12345670017";
    c[col("employerName")] = "Officine Rossi S.r.l.";
    d[col("placed")] = "NO";
    d[col("hireDate")] = "";
    d[col("contractType")] = "";
    d[col("employerVat")] = "";
    d[col("employerName")] = "";
    e[col("fasciaDebole")] = "NONESISTE";
    const filled = withRows(original, rows);

    const answer = await upload(client, filled);
    expect(answer.status).toBe(200);
    expect(answer.html).toContain("in coda");
    const queued = lastUpload();
    expect(queued.status).toBe("queued");
    await drainUploads(t.deps);
    const done = lastUpload();
    expect(done.status).toBe("done_with_errors");
    expect(done.rows_total).toBe(rows.length - 1);
    expect(done.rows_ko).toBe(1);

    expect(enrollmentOf(a).fascia_debole).toBe("GIOV");
    expect(enrollmentOf(a).updated_by_import_job_id).toBe(done.id);
    expect(enrollmentOf(b).fascia_debole).toBe("NO");
    expect(enrollmentOf(c)).toMatchObject({
      placed: 1,
      hire_date: isoPlusDays(projectEnd(c), 10),
      contract_type: "STD",
      employer_vat: "12345670017",
      employer_name: "Officine Rossi S.r.l.",
    });
    expect(enrollmentOf(d)).toMatchObject({ placed: 0, hire_date: null, contract_type: null });

    const outcome = await client.request(`/placement/caricamenti/${done.id}/esito`);
    expect(outcome.status).toBe(200);
    const outcomeRows = textRows(new Uint8Array(await outcome.arrayBuffer()));
    const width = TRAINEE_COLUMNS.length;
    expect(outcomeRows[0]!.slice(width)).toEqual(["Esito", "Messaggio"]);
    expect(outcomeRows.length).toBe(rows.length);
    // Same rows, same order: the clerk fixes the KO rows in this very file.
    expect(outcomeRows.map((r) => r[col("codiceFiscale")])).toEqual(rows.map((r) => r[col("codiceFiscale")]));
    const byCf = new Map(outcomeRows.map((r) => [`${r[col("projectCode")]}|${r[col("classCode")]}|${r[col("codiceFiscale")]}`, r]));
    const outcomeOf = (r: unknown[]) => byCf.get(`${r[col("projectCode")]}|${r[col("classCode")]}|${r[col("codiceFiscale")]}`)!;
    expect(outcomeOf(a)[width]).toBe("OK");
    expect(outcomeOf(e)[width]).toBe("KO");
    expect(String(outcomeOf(e)[width + 1])).toContain("Fascia debole: il codice «NONESISTE» non esiste");
    expect(outcomeRows.filter((r) => r[width] === "INVARIATO").length).toBe(done.rows_unchanged);

    const stored = all<{ outcome: string }>("SELECT outcome FROM import_row_outcomes WHERE import_job_id = ?", done.id);
    expect(stored.length).toBe(done.rows_total);

    // Fix the KO row in the outcome file and upload it again: now everything is in.
    const fixed = outcomeRows.map((r) => [...r]);
    fixed.find((r) => r[col("fasciaDebole")] === "NONESISTE")![col("fasciaDebole")] = "DISAB";
    await upload(client, withRows(original, fixed));
    await drainUploads(t.deps);
    const second = lastUpload();
    expect(second.status).toBe("done");
    expect(second.rows_ok).toBe(1);
    expect(second.rows_ko).toBe(0);
    expect(enrollmentOf(e).fascia_debole).toBe("DISAB");

    const mail = one<{ subject: string; text_body: string }>("SELECT subject, text_body FROM mail_outbox ORDER BY id DESC LIMIT 1");
    expect(mail.subject).toBe(`Placement: caricamento n. ${second.id} elaborato senza scarti`);
    for (const cf of rows.slice(1).map((r) => String(r[col("codiceFiscale")]))) expect(mail.text_body).not.toContain(cf);
  });

  test("the job's times run on while it works: it finishes after it starts, and its changes are stamped in between", async () => {
    const client = await signedIn(t, f.rpaA);
    const { target } = await uploadOneDeclaration(client, "MOLTOSV");
    await drainUploads(t.deps);
    const stamps = one<{ started_at: number; finished_at: number }>("SELECT started_at, finished_at FROM import_jobs WHERE id = ?", lastUpload().id);
    expect(stamps.finished_at).toBeGreaterThan(stamps.started_at);
    const updated = Number(enrollmentOf(target).updated_at);
    expect(updated).toBeGreaterThan(stamps.started_at);
    expect(updated).toBeLessThanOrEqual(stamps.finished_at);
  });

  test("the same file uploaded twice changes nothing the second time", async () => {
    const client = await signedIn(t, f.referentA);
    const original = await bookAndDownload(t, client);
    const rows = textRows(original);
    const mixed = rows.find((r, i) => i > 0 && r[col("homogeneous")] === "NO" && r[col("fasciaDebole")] !== "OVER50")!;
    mixed[col("fasciaDebole")] = "OVER50";
    const filled = withRows(original, rows);
    await upload(client, filled);
    await drainUploads(t.deps);
    expect(lastUpload().rows_ok).toBe(1);
    const snapshot = all("SELECT * FROM enrollments ORDER BY id");
    await upload(client, filled);
    await drainUploads(t.deps);
    const again = lastUpload();
    expect(again.status).toBe("done");
    expect(again.rows_ok).toBe(0);
    expect(again.rows_unchanged).toBe(again.rows_total);
    expect(all("SELECT * FROM enrollments ORDER BY id")).toEqual(snapshot);
    const hashes = all<{ file_sha256: string }>("SELECT file_sha256 FROM import_jobs ORDER BY id DESC LIMIT 2");
    expect(hashes[0]!.file_sha256).toBe(hashes[1]!.file_sha256);
    expect(hashes[0]!.file_sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("other formats", () => {
  test.each([
    ["ods", "ods"],
    ["xls", "biff8"],
  ] as const)("a .%s saved by another program is read, and its outcome comes back as .xlsx", async (extension, bookType) => {
    const client = await signedIn(t, f.rpaA);
    const original = await bookAndDownload(t, client);
    const workbook = XLSX.read(original);
    const rows = textRows(original);
    const target = rows.find((r, i) => i > 0 && r[col("homogeneous")] === "NO" && r[col("fasciaDebole")] !== "NODIP")!;
    target[col("fasciaDebole")] = "NODIP";
    workbook.Sheets["Allievi"] = XLSX.utils.aoa_to_sheet(rows);
    const bytes = new Uint8Array(XLSX.write(workbook, { type: "buffer", bookType }));
    const answer = await upload(client, bytes, `compilato.${extension}`);
    expect(answer.html).toContain("in coda");
    await drainUploads(t.deps);
    const done = lastUpload();
    expect(done.status).toBe("done");
    expect(done.rows_ok).toBe(1);
    expect(enrollmentOf(target).fascia_debole).toBe("NODIP");
    const outcome = await client.request(`/placement/caricamenti/${done.id}/esito`);
    expect(outcome.headers.get("Content-Disposition")).toEndWith('.xlsx"');
    expect(textRows(new Uint8Array(await outcome.arrayBuffer()))[0]!.slice(-2)).toEqual(["Esito", "Messaggio"]);
  });

  test("a CSV separated by commas, without BOM, with dates as Excel serial numbers, is read too", async () => {
    const client = await signedIn(t, f.rpaA);
    const original = await bookAndDownload(t, client);
    const rows = textRows(original);
    const target = rows.find((r, i) => i > 0 && r[col("homogeneous")] === "NO" && r[col("fasciaDebole")] !== "OVER50")!;
    target[col("fasciaDebole")] = "over50";
    const csv = rows.map((r) => r.map((v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v))).join(",")).join("\n");
    await upload(client, new TextEncoder().encode(csv), "compilato.csv");
    await drainUploads(t.deps);
    const done = lastUpload();
    expect(done.status).toBe("done");
    expect(done.rows_ok).toBe(1);
    expect(enrollmentOf(target).fascia_debole).toBe("OVER50");
  });
});

/** Exports the agency's file and uploads it with one trainee of a mixed class declared `code`. */
async function uploadOneDeclaration(client: TestClient, code: string) {
  const original = await bookAndDownload(t, client);
  const rows = textRows(original);
  const target = rows.find((r, i) => i > 0 && r[col("homogeneous")] === "NO")!;
  target[col("fasciaDebole")] = code;
  await upload(client, withRows(original, rows));
  return { original, rows, target };
}

describe("the queue of uploads", () => {
  test("a crash in the middle of applying leaves nothing applied; the job then runs to the same result", async () => {
    const client = await signedIn(t, f.rpaA);
    const original = await bookAndDownload(t, client);
    const rows = textRows(original);
    const targets = rows.filter((r, i) => i > 0 && r[col("homogeneous")] === "NO").slice(0, 3);
    for (const row of targets) row[col("fasciaDebole")] = "MINETN";
    await upload(client, withRows(original, rows));
    const before = all("SELECT * FROM enrollments ORDER BY id");

    // A runner claims the job and dies halfway through its transaction.
    const claim = claimNext(t.db, "import_jobs", t.clock.now(), "agency")!;
    const job = one<{ id: number; user_id: number; year: number; agency_id: number }>("SELECT * FROM import_jobs WHERE id = ?", claim.id);
    const header = rows[0]!.map(String);
    const evaluator = new RowEvaluator({
      positions: matchHeader(header).positions,
      facts: loadEnrollmentFacts(t.db.$client, job.agency_id, job.year),
      codes: referenceCodes(t.db),
      year: job.year,
      today: "2020-09-15",
      since: (facts, version) => sinceVersion(t.db.$client, facts, version),
    });
    rows.slice(1).forEach((cells, i) => evaluator.add({ line: i + 2, cells: cells.map((v) => (v === "" ? null : (v as string))) }));
    await expect(
      finishUpload(t.db, t.clock, claim, job.user_id, applyPlan(evaluator), "/nowhere", () => {
        throw new Error("power cut");
      }, async () => true),
    ).rejects.toThrow("power cut");
    expect(all("SELECT * FROM enrollments ORDER BY id")).toEqual(before);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM import_row_outcomes WHERE import_job_id = ?", claim.id).n).toBe(0);
    expect(lastUpload().status).toBe("running");

    t.clock.advance(LEASE_MS + 1);
    await drainUploads(t.deps);
    const done = lastUpload();
    expect(done.status).toBe("done");
    expect(done.rows_ok).toBe(targets.length);
    for (const row of targets) expect(enrollmentOf(row).fascia_debole).toBe("MINETN");
  });

  test("an outcome file that cannot be written leaves nothing applied, though the rows were applied meanwhile in their own thread", async () => {
    const { targets, queued, before, mails } = await twoDeclarationsQueued();
    for (const row of targets) expect(enrollmentOf(row).fascia_debole).not.toBe("MINETN");
    // Where the first attempt writes its outcome file, a folder: the file cannot be written.
    const blocked = join(t.deps.config.DATA_DIR, "outcomes", `${queued.id}-1-esito.xlsx.part`);
    mkdirSync(blocked, { recursive: true });
    try {
      await drainUploads(t.deps);
    } finally {
      rmSync(blocked, { recursive: true, force: true });
    }
    expect(all("SELECT * FROM enrollments ORDER BY id")).toEqual(before);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM import_row_outcomes WHERE import_job_id = ?", queued.id).n).toBe(0);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM mail_outbox").n).toBe(mails);
    expect(lastUpload()).toMatchObject({ id: queued.id, status: "queued", outcome_path: null });

    // The apply thread let go of the database: the next attempt applies the rows.
    await appliedAtNextAttempt(queued.id, targets);
  });

  test("an apply that fails halfway in its own thread leaves nothing applied and no outcome file, and the job is tried again", async () => {
    const { targets, queued, before, mails } = await twoDeclarationsQueued();
    // The rows' changes are written, then the outcomes fail: the apply stops after its first parts.
    t.db.$client.run("CREATE TRIGGER refuse_outcomes BEFORE INSERT ON import_row_outcomes BEGIN SELECT RAISE(ABORT, 'refused'); END");
    try {
      await drainUploads(t.deps);
    } finally {
      t.db.$client.run("DROP TRIGGER refuse_outcomes");
    }
    expect(all("SELECT * FROM enrollments ORDER BY id")).toEqual(before);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM mail_outbox").n).toBe(mails);
    expect(lastUpload()).toMatchObject({ id: queued.id, status: "queued", outcome_path: null });
    expect(readdirSync(join(t.deps.config.DATA_DIR, "outcomes")).filter((name) => name.startsWith(`${queued.id}-`))).toEqual([]);

    await appliedAtNextAttempt(queued.id, targets);
  });

  test("a disabled agency's upload waits in the queue until the agency is enabled again", async () => {
    await drainUploads(t.deps);
    const { target } = await uploadOneDeclaration(await signedIn(t, f.rpaB), "ADSOLO");
    const uploaded = lastUpload();
    t.db.$client.query("UPDATE agencies SET disabled = 1 WHERE id = ?").run(f.agencyB.id);
    try {
      expect(claimNext(t.db, "import_jobs", t.clock.now(), "agency")).toBeNull();
      await drainUploads(t.deps);
      expect(lastUpload()).toMatchObject({ id: uploaded.id, status: "queued" });
    } finally {
      t.db.$client.query("UPDATE agencies SET disabled = 0 WHERE id = ?").run(f.agencyB.id);
    }
    await drainUploads(t.deps);
    expect(lastUpload()).toMatchObject({ id: uploaded.id, status: "done" });
    expect(enrollmentOf(target).fascia_debole).toBe("ADSOLO");
  });

  test("two uploads of one agency queued back to back apply in upload order", async () => {
    const client = await signedIn(t, f.rpaA);
    const { original, rows, target } = await uploadOneDeclaration(client, "ADSOLO");
    // Without its version the row follows the two-way rule: the later upload wins.
    target[col("fasciaDebole")] = "GENERE";
    target[col("version")] = "";
    await upload(client, withRows(original, rows));
    const [first, second] = all<{ id: number }>("SELECT id FROM import_jobs ORDER BY id DESC LIMIT 2").reverse() as [{ id: number }, { id: number }];

    // While the first is running, the second of the same agency waits.
    const claim = claimNext(t.db, "import_jobs", t.clock.now(), "agency")!;
    expect(claim.id).toBe(first.id);
    expect(claimNext(t.db, "import_jobs", t.clock.now(), "agency")).toBeNull();
    t.clock.advance(LEASE_MS + 1);

    await drainUploads(t.deps);
    // The enrollment's history says in which order the two were applied.
    const applied = all<{ import_job_id: number }>(
      "SELECT import_job_id FROM enrollment_changes WHERE enrollment_id = ? AND import_job_id IN (?, ?) ORDER BY revision",
      Number(enrollmentOf(target).id),
      first.id,
      second.id,
    );
    expect(applied.map((j) => j.import_job_id)).toEqual([first.id, second.id]);
    expect(enrollmentOf(target).fascia_debole).toBe("GENERE");
  });

  test("after the deadline uploads are refused with a sentence; a job queued before still runs", async () => {
    const client = await signedIn(t, f.rpaA);
    const original = await bookAndDownload(t, client);
    const rows = textRows(original);
    rows.find((r, i) => i > 0 && r[col("homogeneous")] === "NO")![col("fasciaDebole")] = "DIS6M";
    const filled = withRows(original, rows);
    await upload(client, filled);
    const queued = lastUpload();
    const saved = t.clock.current;
    const deadline = one<{ deadline: string }>("SELECT deadline FROM campaigns WHERE year = 2019").deadline;
    t.clock.current = new Date(`${deadline}T23:30:00Z`);
    try {
      const late = await signedIn(t, f.rpaA);
      const answer = await upload(late, filled);
      expect(answer.status).toBe(422);
      expect(answer.html).toContain(`La campagna 2019 è chiusa: la scadenza era il ${italianDate(deadline)}.`);
      expect(lastUpload().id).toBe(queued.id);
      await drainUploads(t.deps);
      expect(lastUpload().status).toBe("done");
    } finally {
      t.clock.current = saved;
    }
  });
});

describe("rights", () => {
  test("uploads and outcomes are the agency's own", async () => {
    const client = await signedIn(t, f.rpaA);
    const original = await bookAndDownload(t, client);
    await upload(client, original);
    await drainUploads(t.deps);
    const job = lastUpload();
    expect((await client.request(`/placement/caricamenti/${job.id}/esito`)).status).toBe(200);

    const other = await signedIn(t, f.rpaB);
    expect((await other.request(`/placement/caricamenti/${job.id}`)).status).toBe(404);
    expect((await other.request(`/placement/caricamenti/${job.id}/esito`)).status).toBe(404);
    expect(await (await other.get("/placement/import-massivo")).text()).not.toContain(`/placement/caricamenti/${job.id}/esito`);

    const operator = t.client();
    await operator.login(f.operatorA);
    expect((await operator.request(`/placement/caricamenti/${job.id}/esito`)).status).toBe(403);
    const before = one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n;
    const refused = await upload(operator, original, "x.xlsx", "2019", { htmx: false });
    expect(refused.status).toBe(403);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n).toBe(before);

    const fund = await signedIn(t, f.fund);
    expect((await fund.request(`/placement/caricamenti/${job.id}/esito`)).status).toBe(200);
  });

  test("uploaded and outcome files are deleted after the retention period; the counts stay", async () => {
    const client = await signedIn(t, f.rpaA);
    await upload(client, await bookAndDownload(t, client));
    await drainUploads(t.deps);
    const job = one<{ id: number; file_path: string; outcome_path: string; rows_total: number }>("SELECT * FROM import_jobs ORDER BY id DESC LIMIT 1");
    expect(await Bun.file(join(t.dir, job.file_path)).exists()).toBe(true);
    expect(expireOldUploadFiles(t.db, t.clock, t.deps.config)).toBe(0);
    const saved = t.clock.current;
    t.clock.advance(31 * 86_400_000);
    try {
      expect(expireOldUploadFiles(t.db, t.clock, t.deps.config)).toBeGreaterThanOrEqual(1);
    } finally {
      t.clock.current = saved;
    }
    expect(await Bun.file(join(t.dir, job.file_path)).exists()).toBe(false);
    expect(await Bun.file(join(t.dir, job.outcome_path)).exists()).toBe(false);
    const response = await client.request(`/placement/caricamenti/${job.id}/esito`);
    expect(response.status).toBe(410);
    expect(await response.text()).toContain("non è più disponibile");
    expect(one<{ rows_total: number }>("SELECT rows_total FROM import_jobs WHERE id = ?", job.id).rows_total).toBe(job.rows_total);
  });

  test("an upload without JavaScript carries its token in the form, and a wrong one is refused", async () => {
    const client = await signedIn(t, f.rpaA);
    const original = await bookAndDownload(t, client);
    const before = one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n;
    const post = (token: string) => {
      const form = new FormData();
      form.set("_csrf", token);
      form.set("anno", "2019");
      form.set("file", new File([original], "plain.xlsx"));
      return client.request("/placement/caricamenti", { method: "POST", body: form });
    };
    expect((await post("forged")).status).toBe(403);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n).toBe(before);
    const accepted = await post(client.csrfToken);
    expect(accepted.status).toBe(303);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n).toBe(before + 1);
  });
});

test("after every upload above, the dashboards' counts are the enrollments'", () => expectCountsKept(t.db));
