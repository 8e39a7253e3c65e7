import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as XLSX from "xlsx";
import { drainExports } from "../../src/jobs/exports.ts";
import { grantExtension } from "../../src/services/campaigns.ts";
import { signedIn, tables } from "../helpers/flows.ts";
import { createTestApp, fixtures } from "../helpers/test-app.ts";

setDefaultTimeout(30_000);

const t = await createTestApp();
afterAll(() => t.close());
const f = fixtures(t.db);
const { one, all } = tables(t);
t.db.$client.run("UPDATE campaigns SET opens_on = '2020-08-04', deadline = '2020-11-30' WHERE year = 2019");
const type = one<{ training_type: string }>("SELECT training_type FROM projects WHERE year = 2019 GROUP BY training_type ORDER BY count(*) DESC LIMIT 1").training_type;
t.db.$client.run("INSERT INTO placement_minimums (year, training_type, percent) VALUES (2019, ?, 40)", [type]);

describe("the closing report", () => {
  test("before the deadline it is refused with a sentence, and nothing is queued", async () => {
    const fund = await signedIn(t, f.fund, { page: "/fondo?anno=2019" });
    const answer = await fund.post("/fondo/relazione", { anno: "2019" });
    expect(answer.status).toBe(422);
    expect(await answer.text()).toContain("si prepara dopo la scadenza del 30/11/2020");
    expect(all("SELECT * FROM export_jobs")).toEqual([]);
  });

  test("after it: a row per agency and a sheet per training type, as the database has them", async () => {
    t.clock.current = new Date("2020-12-02T09:00:00Z");
    const fundId = one<{ id: number }>("SELECT id FROM users WHERE role = 'fund_operator'").id;
    grantExtension(t.db, t.clock, fundId, { year: 2019, agencyId: f.agencyB.id, deadline: "2020-12-20", reason: "Ritardo" });
    const fund = await signedIn(t, f.fund, { page: "/fondo?anno=2019", address: "198.51.100.20" });
    expect(await (await fund.get("/fondo?anno=2019")).text()).toContain("Prepara la relazione di chiusura 2019");
    const answer = await fund.post("/fondo/relazione", { anno: "2019" });
    expect(answer.status).toBe(303);
    await drainExports(t.deps);
    const job = one<{ id: number; status: string; kind: string }>("SELECT id, status, kind FROM export_jobs ORDER BY id DESC LIMIT 1");
    expect(job).toMatchObject({ status: "ready", kind: "report" });
    expect(one<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action = 'report_book' AND target = ?", `booking:${job.id}`).n).toBe(1);
    const file = await fund.request(`/placement/prenotazioni/${job.id}/file`);
    expect(file.headers.get("Content-Disposition")).toContain(`relazione-chiusura_2019_${job.id}.xlsx`);
    const book = XLSX.read(new Uint8Array(await file.arrayBuffer()), { type: "array" });
    expect(book.SheetNames[0]).toBe("Relazione 2019");
    expect(book.SheetNames).toContain(type);
    const rows = XLSX.utils.sheet_to_json<Record<string, unknown>>(book.Sheets["Relazione 2019"]!);
    expect(rows.map((r) => r["Codice agenzia"]).sort()).toEqual([f.agencyA.code, f.agencyB.code].sort());

    // The same facts, counted here in SQL of the test's own.
    const projects = all<{ agency: string; code: string; n: number; placed: number; mixed: number; declared: number; type: string }>(
      `SELECT a.code AS agency, p.code, p.training_type AS type, count(e.id) AS n, sum(e.placed = 1 AND e.hire_date > p.end_date) AS placed,
              sum(e.homogeneous = 0) AS mixed, sum(e.homogeneous = 0 AND e.fascia_debole IS NOT NULL) AS declared
       FROM projects p JOIN agencies a ON a.id = p.agency_id JOIN enrollments e ON e.project_id = p.id WHERE p.year = 2019 GROUP BY p.id`,
    );
    for (const row of rows) {
      const mine = projects.filter((p) => p.agency === row["Codice agenzia"]);
      const sum = (pick: (p: (typeof mine)[number]) => number, of = mine) => of.reduce((s, p) => s + pick(p), 0);
      expect(row["Iscrizioni"]).toBe(sum((p) => p.n));
      expect(row["Dichiarate nelle aule non omogenee (%)"]).toBe(Math.round((1000 * sum((p) => p.declared)) / sum((p) => p.mixed)) / 10);
      const ofType = mine.filter((p) => p.type === type);
      const rate = ofType.length ? Math.round((1000 * sum((p) => p.placed, ofType)) / sum((p) => p.n, ofType)) / 10 : undefined;
      expect(row[`Placement ${type} (%)`]).toBe(rate);
      const below = ofType.filter((p) => p.placed * 100 < 40 * p.n).length;
      expect(row[`Progetti ${type} sotto il minimo del 40%`]).toBe(below);
      expect(row["Progetti sotto il minimo"]).toBe(below);
      expect(row["Proroga fino al"] === undefined).toBe(row["Codice agenzia"] !== f.agencyB.code);
    }
    const typeRows = XLSX.utils.sheet_to_json<Record<string, unknown>>(book.Sheets[type]!);
    expect(typeRows).toHaveLength(projects.filter((p) => p.type === type).length);
    for (const r of typeRows) {
      const p = projects.find((x) => x.code === r["Codice progetto"] && x.agency === r["Codice agenzia"])!;
      expect(r["Assunti"]).toBe(p.placed);
      expect(r["Sotto il minimo"]).toBe(p.placed * 100 < 40 * p.n ? "SI" : "NO");
    }
  });
});
