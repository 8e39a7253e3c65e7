import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as XLSX from "xlsx";
import { bookAndDownload, col, readRows, signedIn, tables, uploadAndRun, withRows } from "../helpers/flows.ts";
import { createTestApp, fixtures } from "../helpers/test-app.ts";

setDefaultTimeout(30_000);

const t = await createTestApp();
afterAll(() => t.close());
const f = fixtures(t.db);
const { one, all } = tables(t);

// A trainee of agency A whose declaration comes through an upload of the file the agency downloaded.
const clerk = await signedIn(t, f.rpaA);
const exported = await bookAndDownload(t, clerk);
const exportJob = one<{ id: number }>("SELECT id FROM export_jobs ORDER BY id DESC LIMIT 1");
const rows = readRows(exported);
const target = one<{ id: number; participant_id: number; codice_fiscale: string; project: string; class: string }>(
  `SELECT e.id, e.participant_id, pa.codice_fiscale, p.code AS project, c.code AS class
   FROM enrollments e JOIN participants pa ON pa.id = e.participant_id JOIN projects p ON p.id = e.project_id JOIN classes c ON c.id = e.class_id
   WHERE e.agency_id = ? AND e.year = 2019 AND e.homogeneous = 0 AND e.fascia_debole IS NULL ORDER BY e.id LIMIT 1`,
  f.agencyA.id,
);
const at = rows.findIndex((r) => r[col("codiceFiscale")] === target.codice_fiscale && r[col("projectCode")] === target.project && r[col("classCode")] === target.class);
rows[at]![col("fasciaDebole")] = "NO";
const { job: uploadJob } = await uploadAndRun(t, clerk, withRows(exported, rows));

const fund = await signedIn(t, f.fund, { page: "/fondo/persona" });
const sheetRows = (book: XLSX.WorkBook, name: string) => XLSX.utils.sheet_to_json<Record<string, unknown>>(book.Sheets[name]!, { raw: true });

describe("one person's data on request", () => {
  test("a search shows the person and what is held, audited without the codice fiscale", async () => {
    const answer = await fund.post("/fondo/persona", { cf: target.codice_fiscale.toLowerCase() });
    expect(answer.status).toBe(200);
    const html = await answer.text();
    const held = one<{ n: number }>("SELECT count(*) AS n FROM enrollments WHERE participant_id = ?", target.participant_id).n;
    expect(html).toContain(`Iscrizioni: <strong>${held}</strong>`);
    const entry = all<{ target: string; detail: string | null }>("SELECT target, detail FROM audit_log WHERE action = 'person_data_view'").at(-1)!;
    expect(entry.target).toBe(`participant:${target.participant_id}`);
    expect(all<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE target LIKE ? OR detail LIKE ?", `%${target.codice_fiscale}%`, `%${target.codice_fiscale}%`)[0]!.n).toBe(0);
  });

  test("the file holds every enrollment, change, upload row and download of the person, as the database has them", async () => {
    const answer = await fund.post("/fondo/persona/file", { cf: target.codice_fiscale });
    expect(answer.headers.get("Content-Type")).toContain("spreadsheetml");
    const book = XLSX.read(new Uint8Array(await answer.arrayBuffer()));
    expect(book.SheetNames).toEqual(["Persona", "Iscrizioni", "Storico", "Caricamenti", "Download", "Scaricato da", "Legenda"]);

    const enrollments = all<{ id: number; fascia_debole: string | null }>("SELECT id, fascia_debole FROM enrollments WHERE participant_id = ? ORDER BY id", target.participant_id);
    const listed = sheetRows(book, "Iscrizioni");
    expect(listed.map((r) => r.Iscrizione).sort()).toEqual(enrollments.map((e) => e.id).sort());
    expect(listed.find((r) => r.Iscrizione === target.id)).toMatchObject({ "Fascia debole": "NO", Agenzia: f.agencyA.code });

    const changes = all<{ n: number }>(`SELECT count(*) AS n FROM enrollment_changes WHERE enrollment_id IN (${enrollments.map((e) => e.id).join(",")})`)[0]!.n;
    const history = sheetRows(book, "Storico");
    expect(history).toHaveLength(changes);
    expect(history.find((r) => r.Iscrizione === target.id)).toMatchObject({ Campo: "Fascia debole", Dopo: "NO", Tramite: `caricamento n. ${uploadJob!.id}`, Utente: f.rpaA });

    expect(sheetRows(book, "Caricamenti").find((r) => r.Iscrizione === target.id)).toMatchObject({ Caricamento: uploadJob!.id, Esito: "OK" });
    expect(sheetRows(book, "Download").map((r) => r.Prenotazione)).toContain(exportJob.id);
    expect(sheetRows(book, "Scaricato da").find((r) => r.Prenotazione === exportJob.id)).toMatchObject({ Da: f.rpaA });
    expect(all("SELECT id FROM audit_log WHERE action = 'person_data_download' AND target = ?", `participant:${target.participant_id}`)).toHaveLength(1);
  });

  test("a person with no download of their agency and year lists none", async () => {
    const other = one<{ codice_fiscale: string }>(
      "SELECT pa.codice_fiscale FROM participants pa WHERE NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.participant_id = pa.id AND e.agency_id = ?) LIMIT 1",
      f.agencyA.id,
    );
    const book = XLSX.read(new Uint8Array(await (await fund.post("/fondo/persona/file", { cf: other.codice_fiscale })).arrayBuffer()));
    expect(sheetRows(book, "Download")).toEqual([]);
    expect(sheetRows(book, "Iscrizioni").length).toBeGreaterThan(0);
  });

  test.each([
    ["ABC", "Scrivi il codice fiscale di 16 lettere e cifre"],
    ["RSSMRA80A01H501Z", "Placement non tratta dati di una persona con questo codice fiscale"],
  ])("%p is answered with a sentence, and nothing is downloaded", async (cf, sentence) => {
    for (const path of ["/fondo/persona", "/fondo/persona/file"]) {
      const answer = await fund.post(path, { cf });
      expect(answer.status).toBe(422);
      expect(answer.headers.get("Content-Type")).toContain("text/html");
      expect(await answer.text()).toContain(sentence);
    }
  });

  test("is the fund's only", async () => {
    expect((await clerk.get("/fondo/persona")).status).toBe(404);
    expect((await clerk.post("/fondo/persona/file", { cf: target.codice_fiscale })).status).toBe(404);
  });
});
