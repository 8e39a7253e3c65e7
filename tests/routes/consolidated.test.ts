import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as XLSX from "xlsx";
import { drainExports } from "../../src/jobs/exports.ts";
import { claimNext } from "../../src/jobs/queue.ts";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { bookAndDownload, col, signedIn, tables, upload } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestClient } from "../helpers/test-app.ts";

setDefaultTimeout(30_000);

const t = await createTestApp();
afterAll(() => t.close());
const f = fixtures(t.db);
const { one, all } = tables(t);
const TYPES = all<{ code: string }>("SELECT code FROM training_types WHERE active = 1").map((r) => r.code);

let fund = await signedIn(t, f.fund, { page: "/placement/import-massivo" });

/** Books the fund's file as its form does, runs the queue; the job and the file's rows (header first). */
async function consolidated(client: TestClient, form: Record<string, string | string[]>) {
  const body = new URLSearchParams({ _csrf: client.csrfToken });
  for (const [key, value] of Object.entries(form)) for (const v of [value].flat()) body.append(key, v);
  const answer = await client.request("/fondo/dati-acquisiti", { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  return answer;
}

async function run(form: Record<string, string | string[]>) {
  const answer = await consolidated(fund, form);
  expect(answer.status).toBe(303);
  await drainExports(t.deps);
  const job = one<{ id: number; status: string; row_count: number; agency_id: number | null; format: string }>("SELECT * FROM export_jobs ORDER BY id DESC LIMIT 1");
  expect(job).toMatchObject({ status: "ready", agency_id: null });
  const file = await fund.request(`/placement/prenotazioni/${job.id}/file`);
  expect(file.status).toBe(200);
  expect(file.headers.get("Content-Disposition")).toContain(`dati-acquisiti_2019_${job.id}.${job.format}`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const book = XLSX.read(bytes, job.format === "csv" ? { type: "array", raw: true } : { type: "array" });
  return { job, book, rows: XLSX.utils.sheet_to_json<string[]>(book.Sheets[book.SheetNames[0]!]!, { header: 1, raw: false, defval: "" }) };
}

// A trainee of agency A changed by an upload, and one changed on the class page.
const clerk = await signedIn(t, f.rpaA);
const file = await bookAndDownload(t, clerk);
const sheet = XLSX.read(file, { type: "array" });
const aoa = XLSX.utils.sheet_to_json<unknown[]>(sheet.Sheets["Allievi"]!, { header: 1, raw: true, defval: null });
const mixed = aoa.findIndex((r, i) => i > 0 && r[col("homogeneous")] === "NO" && r[col("fasciaDebole")] === null);
aoa[mixed]![col("fasciaDebole")] = "NO";
sheet.Sheets["Allievi"] = XLSX.utils.aoa_to_sheet(aoa);
await upload(clerk, new Uint8Array(XLSX.write(sheet, { type: "array", bookType: "xlsx" })));
await drainUploads(t.deps);
const uploadId = one<{ id: number }>("SELECT id FROM import_jobs ORDER BY id DESC LIMIT 1").id;
const uploadedKey = ["projectCode", "classCode", "codiceFiscale"].map((key) => String(aoa[mixed]![col(key as "projectCode")])).join("|");
const clerkName = one<{ name: string }>("SELECT name FROM users WHERE email = ?", f.rpaA).name;
const edited = one<{ id: number; project_id: number; class_id: number; key: string }>(
  `SELECT e.id, e.project_id, e.class_id, p.code || '|' || c.code || '|' || pa.codice_fiscale AS key
   FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = e.project_id JOIN participants pa ON pa.id = e.participant_id
   WHERE e.agency_id = ? AND c.homogeneous = 0 AND e.fascia_debole IS NULL AND e.revision = 0 ORDER BY e.id DESC LIMIT 1`,
  f.agencyA.id,
);
await clerk.get(`/progetti/${edited.project_id}/aule/${edited.class_id}`);
const edit = await clerk.post(`/progetti/${edited.project_id}/aule/${edited.class_id}/iscrizioni/${edited.id}`, { fascia: "NO" }, { "HX-Request": "true" });
expect(edit.status).toBe(200);

describe("the fund's file of every agency's data", () => {
  test("holds every enrollment of both agencies as the database has it, with who last changed each row", async () => {
    const { rows, book } = await run({ anno: "2019", formato: "xlsx", tipologie: TYPES });
    expect(book.SheetNames).toEqual(["Dati acquisiti", "Legenda"]);
    const [header, ...data] = rows;
    const at = (name: string) => header!.indexOf(name);
    expect(header!.slice(0, 3)).toEqual(["Codice agenzia", "Agenzia", "Codice progetto"]);
    const db = all<{ agency: string; cf: string; project: string; cls: string; fascia: string | null; placed: number | null; hire: string | null; counted: number }>(
      `SELECT a.code AS agency, pa.codice_fiscale AS cf, p.code AS project, c.code AS cls,
              CASE WHEN c.homogeneous = 1 THEN c.category ELSE e.fascia_debole END AS fascia, e.placed, e.hire_date AS hire,
              (e.placed = 1 AND e.hire_date > p.end_date) AS counted
       FROM enrollments e JOIN agencies a ON a.id = e.agency_id JOIN projects p ON p.id = e.project_id
       JOIN classes c ON c.id = e.class_id JOIN participants pa ON pa.id = e.participant_id WHERE e.year = 2019`,
    );
    expect(data.length).toBe(db.length);
    expect(new Set(data.map((r) => r[at("Codice agenzia")]))).toEqual(new Set([f.agencyA.code, f.agencyB.code]));
    const byKey = new Map(data.map((r) => [`${r[at("Codice progetto")]}|${r[at("Codice aula")]}|${r[at("Codice fiscale")]}`, r]));
    expect(byKey.size).toBe(db.length);
    for (const e of db) {
      const row = byKey.get(`${e.project}|${e.cls}|${e.cf}`)!;
      expect(row[at("Codice agenzia")]).toBe(e.agency);
      expect(row[at("Fascia debole (effettiva)")]).toBe(e.fascia ?? "");
      expect(row[at("Placement")]).toBe(e.placed === null ? "" : e.placed ? "SI" : "NO");
      expect(row[at("Conta come placement")]).toBe(e.counted ? "SI" : "NO");
    }
    const changed = byKey.get(uploadedKey)!;
    expect(changed[at("Fascia debole (effettiva)")]).toBe("NO");
    expect(changed[at("Tramite")]).toBe(`caricamento n. ${uploadId}`);
    expect(changed[at("Modificata da")]).toBe(clerkName);
    expect(changed[at("Ultima modifica")]).toMatch(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/);
    expect(byKey.get(edited.key)![at("Tramite")]).toBe("modifica dalla pagina");
    // Rows as first loaded were changed by nobody: no time either.
    const untouched = data.filter((r) => r[at("Tramite")] === "" && r[at("Modificata da")] === "");
    expect(untouched.length).toBeGreaterThan(0);
    for (const r of untouched) expect(r[at("Ultima modifica")]).toBe("");
    expect(byKey.get(edited.key)![at("Fascia debole (effettiva)")]).toBe("NO");
  });

  test("filters by agency and training type; a CSV has the same rows", async () => {
    const type = one<{ training_type: string }>("SELECT training_type FROM projects WHERE agency_id = ? AND year = 2019 LIMIT 1", f.agencyB.id).training_type;
    const expected = one<{ n: number }>(
      "SELECT count(*) AS n FROM enrollments e JOIN projects p ON p.id = e.project_id WHERE e.agency_id = ? AND e.year = 2019 AND p.training_type = ?",
      f.agencyB.id,
      type,
    ).n;
    const { rows, job } = await run({ anno: "2019", formato: "csv", tipologie: type, agenzie: String(f.agencyB.id) });
    expect(rows.length - 1).toBe(expected);
    expect(job.row_count).toBe(expected);
    expect(new Set(rows.slice(1).map((r) => r[0]))).toEqual(new Set([f.agencyB.code]));
  });

  test("may be booked before the campaign opens and after its deadline; the booker is told by e-mail", async () => {
    for (const instant of ["2020-07-01T10:00:00Z", "2021-03-01T10:00:00Z"]) {
      t.clock.current = new Date(instant);
      const client = await signedIn(t, f.fund, { page: "/placement/import-massivo", address: instant.slice(0, 7) === "2020-07" ? "198.51.100.7" : "198.51.100.8" });
      const answer = await consolidated(client, { anno: "2019", formato: "xlsx", tipologie: TYPES[0]! });
      expect(answer.status).toBe(303);
    }
    t.clock.current = new Date("2020-09-15T10:00:00Z");
    fund = await signedIn(t, f.fund, { page: "/placement/import-massivo", address: "198.51.100.10" });
    await drainExports(t.deps);
    const mail = one<{ recipients: string; subject: string }>("SELECT recipients, subject FROM mail_outbox ORDER BY id DESC LIMIT 1");
    expect(JSON.parse(mail.recipients)).toEqual([f.fund]);
    expect(mail.subject).toContain("dati acquisiti 2019 disponibili");
  });

  test("bad choices are refused with a sentence, and nothing is queued", async () => {
    const before = one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n;
    const cases: [Record<string, string | string[]>, string][] = [
      [{ anno: "2019", formato: "xlsx" }, "Scegli almeno una tipologia formativa."],
      [{ anno: "2031", formato: "xlsx", tipologie: TYPES[0]! }, "Non esiste una campagna per l&#39;anno 2031"],
      [{ anno: "2019", formato: "xlsx", tipologie: TYPES[0]!, agenzie: "999999" }, "Una delle agenzie scelte non esiste più"],
      [{ anno: "2019", formato: "xlsx", tipologie: "NONESISTE" }, "Tipologia formativa sconosciuta"],
    ];
    for (const [form, sentence] of cases) {
      const answer = await consolidated(fund, form);
      expect(answer.status).toBe(422);
      expect(await answer.text()).toContain(sentence);
    }
    expect(one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n).toBe(before);
  });

  test("the booking's row says it is the fund's; its download is audited", async () => {
    const job = one<{ id: number }>("SELECT id FROM export_jobs WHERE agency_id IS NULL ORDER BY id LIMIT 1");
    const row = await (await fund.get(`/placement/prenotazioni/${job.id}`)).text();
    expect(row).toContain("Fondo");
    expect(row).toContain("Dati acquisiti 2019");
    const entry = one<{ agency_id: number | null; target: string }>("SELECT agency_id, target FROM audit_log WHERE action = 'export_download' AND target LIKE 'dati-acquisiti%' ORDER BY id LIMIT 1");
    expect(entry).toEqual({ agency_id: null, target: `dati-acquisiti_2019_${job.id}.xlsx` });
    // Its booking too: the file holds every agency's trainees.
    const booked = one<{ detail: string }>("SELECT detail FROM audit_log WHERE action = 'consolidated_book' AND target = ?", `booking:${job.id}`);
    expect(JSON.parse(booked.detail)).toMatchObject({ year: 2019, agencies: [] });
  });

  test("an agency neither books nor sees the fund's file", async () => {
    const job = one<{ id: number }>("SELECT id FROM export_jobs WHERE agency_id IS NULL ORDER BY id LIMIT 1");
    const agencyClerk = await signedIn(t, f.rpaA, { address: "198.51.100.9" });
    expect((await consolidated(agencyClerk, { anno: "2019", formato: "xlsx", tipologie: TYPES })).status).toBe(404);
    expect((await agencyClerk.get(`/placement/prenotazioni/${job.id}`)).status).toBe(404);
    expect((await agencyClerk.get(`/placement/prenotazioni/${job.id}/file`)).status).toBe(404);
    expect(await (await agencyClerk.get("/placement/import-massivo")).text()).not.toContain("Dati acquisiti");
  });
});

describe("the fund's own files in the queue", () => {
  test("wait for each other, in booking order, beside the agencies' downloads", async () => {
    await drainExports(t.deps);
    const fundId = one<{ id: number }>("SELECT id FROM users WHERE role = 'fund_operator'").id;
    const queue = (agency: number | null) =>
      one<{ id: number }>(
        "INSERT INTO export_jobs (agency_id, user_id, year, training_types, format, kind) VALUES (?, ?, 2019, '[\"BASE\"]', 'xlsx', ?) RETURNING id",
        agency,
        fundId,
        agency === null ? "consolidated" : "trainees",
      ).id;
    const first = queue(null);
    const second = queue(null);
    const agencyJob = queue(f.agencyA.id);
    const now = t.clock.now();
    expect(claimNext(t.db, "export_jobs", now, "agency")?.id).toBe(first);
    // While the first runs, the second waits; an agency's download does not.
    expect(claimNext(t.db, "export_jobs", now, "agency")?.id).toBe(agencyJob);
    expect(claimNext(t.db, "export_jobs", now, "agency")).toBeNull();
    t.db.$client.run("UPDATE export_jobs SET status = 'ready' WHERE id = ?", [first]);
    expect(claimNext(t.db, "export_jobs", now, "agency")?.id).toBe(second);
    t.db.$client.run("UPDATE export_jobs SET status = 'ready' WHERE id IN (?, ?)", [second, agencyJob]);
  });
});
