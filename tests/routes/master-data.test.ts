import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as XLSX from "xlsx";
import { drainMasterData } from "../../src/jobs/master-data.ts";
import { buildCodiceFiscale } from "../../src/services/codice-fiscale.ts";
import { recountPlaced } from "../../src/services/minimums.ts";
import { MASTER_COLUMNS } from "../../src/sheets/master-columns.ts";
import { expectCountsKept, signedIn, tables, uploadMasterData, type Queries } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp, type TestClient } from "../helpers/test-app.ts";

// Loads start a worker thread and a child process.
setDefaultTimeout(60_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let one: Queries["one"];
let all: Queries["all"];
let fund: TestClient;

beforeAll(async () => {
  t = await createTestApp();
  f = fixtures(t.db);
  ({ one, all } = tables(t));
  fund = await signedIn(t, f.fund, { address: "192.0.2.61", page: "/amministrazione/anagrafiche" });
});
afterAll(() => t.close());

type Row = Record<(typeof MASTER_COLUMNS)[number]["key"], string>;

async function template(): Promise<XLSX.WorkBook> {
  const response = await fund.request("/amministrazione/anagrafiche/modello");
  expect(response.status).toBe(200);
  return XLSX.read(await response.arrayBuffer());
}

async function load(rows: Row[]) {
  const workbook = await template();
  workbook.Sheets["Anagrafica"] = XLSX.utils.aoa_to_sheet([MASTER_COLUMNS.map((c) => c.header), ...rows.map((r) => MASTER_COLUMNS.map((c) => r[c.key]))]);
  const response = await uploadMasterData(fund, XLSX.write(workbook, { type: "buffer", bookType: "xlsx" }), "anagrafiche.xlsx");
  const html = await response.text();
  await drainMasterData(t.deps);
  return { status: response.status, html, job: one<{ id: number; status: string; rows_total: number; rows_ok: number; rows_ko: number; rows_unchanged: number }>("SELECT * FROM master_data_jobs ORDER BY id DESC LIMIT 1") };
}

const cf = (surname: string, name: string, birthDate: string) => buildCodiceFiscale({ surname, name, birthDate, sex: "F", placeCode: "H501" });
const row = (over: Partial<Row>): Row => ({
  agencyCode: f.agencyA.code,
  projectCode: "2019-NUOVO-1",
  projectTitle: "Corso nuovo",
  trainingType: "BASE",
  year: "2019",
  startDate: "01/03/2019",
  endDate: "30/04/2019",
  classCode: "A1",
  homogeneous: "NO",
  classCategory: "",
  codiceFiscale: cf("Verdi", "Anna", "1990-05-04"),
  surname: "Verdi",
  name: "Anna",
  birthDate: "04/05/1990",
  ...over,
});

const snapshot = () =>
  Object.fromEntries(["projects", "classes", "participants", "enrollments"].map((name) => [name, all(`SELECT * FROM ${name} ORDER BY rowid`)]));

describe("master data", () => {
  test("the template documents every column", async () => {
    const workbook = await template();
    expect(workbook.SheetNames).toEqual(["Anagrafica", "Istruzioni"]);
    expect(XLSX.utils.sheet_to_json<string[]>(workbook.Sheets["Anagrafica"]!, { header: 1 })[0]).toEqual(MASTER_COLUMNS.map((c) => c.header));
    const help = XLSX.utils.sheet_to_csv(workbook.Sheets["Istruzioni"]!);
    for (const c of MASTER_COLUMNS) expect(help).toContain(c.header);
  });

  test("loads projects, classes, trainees and enrollments; the same file again changes nothing", async () => {
    const existing = one<{ codice_fiscale: string; surname: string; name: string; birth_date: string }>("SELECT * FROM participants LIMIT 1");
    const rows = [
      row({}),
      row({ codiceFiscale: cf("Neri", "Bruna", "1985-01-02"), surname: "Neri", name: "Bruna", birthDate: "02/01/1985" }),
      row({ classCode: "A2", homogeneous: "SI", classCategory: "giov", codiceFiscale: cf("Gialli", "Carla", "2001-07-08"), surname: "Gialli", name: "Carla", birthDate: "" }),
      row({
        classCode: "A2",
        homogeneous: "SI",
        classCategory: "GIOV",
        codiceFiscale: existing.codice_fiscale,
        surname: existing.surname,
        name: existing.name,
        birthDate: existing.birth_date.split("-").reverse().join("/"),
      }),
    ];
    const first = await load(rows);
    expect(first.html).toContain("in coda");
    expect(first.job).toMatchObject({ status: "done", rows_total: 4, rows_ok: 4, rows_ko: 0 });
    const project = one<{ id: number; title: string; agency_id: number; end_date: string }>("SELECT * FROM projects WHERE code = '2019-NUOVO-1'");
    expect(project).toMatchObject({ title: "Corso nuovo", agency_id: f.agencyA.id, end_date: "2019-04-30" });
    const enrollments = all<{ code: string; homogeneous: number; fascia_debole: string | null; year: number; agency_id: number }>(
      "SELECT c.code, e.homogeneous, e.fascia_debole, e.year, e.agency_id FROM enrollments e JOIN classes c ON c.id = e.class_id WHERE e.project_id = ? ORDER BY c.code",
      project.id,
    );
    expect(enrollments.map((e) => [e.code, e.homogeneous, e.fascia_debole, e.year, e.agency_id])).toEqual([
      ["A1", 0, null, 2019, f.agencyA.id],
      ["A1", 0, null, 2019, f.agencyA.id],
      ["A2", 1, "GIOV", 2019, f.agencyA.id],
      ["A2", 1, "GIOV", 2019, f.agencyA.id],
    ]);

    const before = snapshot();
    const again = await load(rows);
    expect(again.job).toMatchObject({ status: "done", rows_ok: 0, rows_unchanged: 4 });
    expect(snapshot()).toEqual(before);
  });

  test("an updated file updates titles, dates and classes, and keeps the agencies' declarations", async () => {
    const project = one<{ id: number; code: string; title: string; training_type: string; start_date: string; end_date: string }>(
      "SELECT p.* FROM projects p WHERE p.agency_id = ? AND EXISTS (SELECT 1 FROM enrollments e JOIN classes c ON c.id = e.class_id WHERE e.project_id = p.id AND c.homogeneous = 0) ORDER BY p.id LIMIT 1",
      f.agencyA.id,
    );
    const lines = all<{ class_code: string; homogeneous: number; category: string | null; codice_fiscale: string; surname: string; name: string; birth_date: string; enrollment: number }>(
      `SELECT c.code AS class_code, c.homogeneous, c.category, pa.codice_fiscale, pa.surname, pa.name, pa.birth_date, e.id AS enrollment
       FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN participants pa ON pa.id = e.participant_id WHERE e.project_id = ?`,
      project.id,
    );
    const mixed = lines.find((l) => l.homogeneous === 0)!;
    // Hired the day after the project's end: placed, until the end moves past the hire date.
    const later = (days: number) => new Date(Date.parse(project.end_date) + days * 86_400_000).toISOString().slice(0, 10);
    t.db.$client.query("UPDATE enrollments SET fascia_debole = 'DISAB', placed = 1, contract_type = 'STD', hire_date = ? WHERE id = ?").run(later(1), mixed.enrollment);
    recountPlaced(t.db.$client, project.id);
    const countsAsPlaced = () => one<{ counts_as_placed: number }>("SELECT counts_as_placed FROM enrollments WHERE id = ?", mixed.enrollment).counts_as_placed;
    expect(countsAsPlaced()).toBe(1);
    const declared = all("SELECT id, fascia_debole, placed, hire_date, contract_type FROM enrollments WHERE project_id = ? ORDER BY id", project.id);

    const rows = lines.map((l) =>
      row({
        projectCode: project.code,
        projectTitle: "Titolo aggiornato",
        trainingType: project.training_type,
        startDate: project.start_date.split("-").reverse().join("/"),
        endDate: later(30).split("-").reverse().join("/"),
        classCode: l.class_code,
        homogeneous: l.homogeneous ? "SI" : "NO",
        classCategory: l.category ?? "",
        codiceFiscale: l.codice_fiscale,
        surname: l.surname,
        name: l.name,
        birthDate: l.birth_date.split("-").reverse().join("/"),
      }),
    );
    const result = await load(rows);
    expect(result.job).toMatchObject({ status: "done", rows_ko: 0 });
    expect(result.job.rows_ok).toBe(rows.length > 0 ? 1 : 0);
    expect(one("SELECT title, end_date FROM projects WHERE id = ?", project.id)).toEqual({ title: "Titolo aggiornato", end_date: later(30) });
    expect(all("SELECT id, fascia_debole, placed, hire_date, contract_type FROM enrollments WHERE project_id = ? ORDER BY id", project.id)).toEqual(declared);
    // Hired before the project's new end: no longer counted as placed.
    expect(countsAsPlaced()).toBe(0);
  });

  test("each bad row is refused with its reasons; the good ones are applied", async () => {
    const rows = [
      row({ projectCode: "2019-NUOVO-2", agencyCode: "NESSUNA" }),
      row({ projectCode: "2019-NUOVO-2", endDate: "01/01/2019" }),
      row({ projectCode: "2019-NUOVO-2", codiceFiscale: "RSSMRA85T10A562X" }),
      row({ projectCode: "2019-NUOVO-2", classCode: "B9", homogeneous: "SI", classCategory: "" }),
      row({ projectCode: "2019-NUOVO-3", trainingType: "ZZZ" }),
      row({ projectCode: "2019-NUOVO-4" }),
      row({ projectCode: "2019-NUOVO-4", projectTitle: "Altro titolo", codiceFiscale: cf("Bianchi", "Elena", "1970-02-03"), surname: "Bianchi", name: "Elena" }),
    ];
    const result = await load(rows);
    expect(result.job).toMatchObject({ status: "done_with_errors", rows_total: 7, rows_ok: 1, rows_ko: 6 });
    const outcome = await fund.request(`/amministrazione/anagrafiche/${result.job.id}/esito`);
    const sheet = XLSX.read(await outcome.arrayBuffer()).Sheets["Anagrafica"]!;
    const messages = XLSX.utils.sheet_to_json<Record<string, string>>(sheet).map((r) => `${r["Esito"]} ${r["Messaggio"] ?? ""}`);
    expect(messages[0]).toContain("l'agenzia «NESSUNA» non esiste");
    expect(messages[1]).toContain("Data fine: precede la data di inizio.");
    expect(messages[2]).toContain("Codice fiscale:");
    expect(messages[3]).toContain("Categoria aula: con aula omogenea serve un codice");
    expect(messages[4]).toContain("Tipologia formativa: il codice «ZZZ» non esiste.");
    expect(messages[5]).toBe("OK ");
    expect(messages[6]).toContain("Dati diversi da quelli della riga 7 per il progetto 2019-NUOVO-4");
    expect(one<{ n: number }>("SELECT count(*) AS n FROM projects WHERE code IN ('2019-NUOVO-2', '2019-NUOVO-3')").n).toBe(0);
  });

  test("a file with dates written month-first is refused at once, before any row is read", async () => {
    const before = one<{ n: number }>("SELECT count(*) AS n FROM master_data_jobs").n;
    const result = await load([row({ projectCode: "2019-NUOVO-5", startDate: "03/01/2019", endDate: "04/30/2019" })]);
    expect(result.status).toBe(422);
    expect(result.html).toContain("date scritte come mese/giorno/anno");
    expect(one<{ n: number }>("SELECT count(*) AS n FROM master_data_jobs").n).toBe(before);
  });

  test("a file without the template's columns is refused at once; agency users get nothing", async () => {
    const before = one<{ n: number }>("SELECT count(*) AS n FROM master_data_jobs").n;
    const response = await uploadMasterData(fund, "Colonna;Altro\r\n1;2\r\n", "sbagliato.csv");
    expect(response.status).toBe(422);
    expect(await response.text()).toContain("mancano le colonne");
    expect(one<{ n: number }>("SELECT count(*) AS n FROM master_data_jobs").n).toBe(before);

    const agency = t.client("192.0.2.62");
    await agency.login(f.rpaA);
    expect((await agency.get("/amministrazione/anagrafiche")).status).toBe(404);
    expect((await agency.get("/amministrazione/anagrafiche/modello")).status).toBe(404);
  });
});

test("after every load above, the dashboards' counts are the enrollments'", () => expectCountsKept(t.db));
