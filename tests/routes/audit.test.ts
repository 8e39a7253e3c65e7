import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as XLSX from "xlsx";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// Sign-ins verify argon2id hashes, on purpose slow: on a busy machine a test takes seconds.
setDefaultTimeout(30_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;

beforeAll(async () => {
  t = await createTestApp();
  f = fixtures(t.db);
  // Sign-ins on two days, a failed one, and a download.
  await t.client("192.0.2.41").login(f.rpaA);
  await t.client("192.0.2.42").login(f.rpaB, "sbagliata");
  t.clock.advance(2 * 86_400_000);
  await t.client("192.0.2.43").login(f.rpaB);
});
afterAll(() => t.close());

const rowsOf = (html: string) => [...html.matchAll(/<tr data-action="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => ({ action: m[1]!, text: m[2]! }));

describe("the audit log", () => {
  test("lists sign-ins and failed sign-ins, filtered by action, agency, user and day", async () => {
    const fund = t.client("192.0.2.44");
    await fund.login(f.fund);
    const all = rowsOf(await (await fund.get("/fondo/registro")).text());
    expect(all.map((r) => r.action)).toEqual(expect.arrayContaining(["login", "login_failed"]));

    const failed = rowsOf(await (await fund.get("/fondo/registro?azione=login_failed")).text());
    expect(failed.length).toBe(1);
    expect(failed[0]!.text).toContain("192.0.2.42");

    const agencyB = rowsOf(await (await fund.get(`/fondo/registro?agenzia=${f.agencyB.id}`)).text());
    expect(agencyB.length).toBe(1);
    expect(agencyB[0]!.text).toContain(f.rpaB);

    const byUser = rowsOf(await (await fund.get(`/fondo/registro?utente=${encodeURIComponent(f.rpaA)}&azione=login`)).text());
    expect(byUser.map((r) => r.text.includes(f.rpaA))).toEqual([true]);

    // The test clock starts on 15 September 2020; the last sign-ins are two days later.
    const firstDay = rowsOf(await (await fund.get("/fondo/registro?dal=2020-09-15&al=2020-09-15")).text());
    expect(firstDay.map((r) => r.action).sort()).toEqual(["login", "login_failed"]);
    const later = rowsOf(await (await fund.get("/fondo/registro?dal=2020-09-16")).text());
    expect(later.every((r) => !r.text.includes("192.0.2.41"))).toBe(true);
  });

  test("exports the filtered entries as CSV", async () => {
    const fund = t.client("192.0.2.45");
    await fund.login(f.fund);
    const response = await fund.request("/fondo/registro/file?azione=login_failed");
    expect(response.headers.get("Content-Type")).toContain("text/csv");
    const text = new TextDecoder().decode((await response.arrayBuffer()).slice(3));
    const rows = XLSX.utils.sheet_to_json<Record<string, string>>(XLSX.read(text, { type: "string", FS: ";", raw: true }).Sheets.Sheet1!, { raw: true });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ Azione: "login_failed", Indirizzo: "192.0.2.42" });
  });

  test("keeps who opened a class page and who downloaded a file with fasce deboli, filterable by action", async () => {
    const clerk = t.client("192.0.2.48");
    await clerk.login(f.rpaA);
    const klass = t.db.$client.query("SELECT c.id, c.code, p.id AS project, p.code AS projectCode FROM classes c JOIN projects p ON p.id = c.project_id WHERE p.agency_id = ? ORDER BY c.id LIMIT 1").get(f.agencyA.id) as { id: number; code: string; project: number; projectCode: string };
    expect((await clerk.get(`/progetti/${klass.project}/aule/${klass.id}`)).status).toBe(200);
    const fund = t.client("192.0.2.49");
    await fund.login(f.fund);
    const views = rowsOf(await (await fund.get("/fondo/registro?azione=class_view")).text());
    expect(views).toHaveLength(1);
    expect(views[0]!.text).toContain(f.rpaA);
    expect(views[0]!.text).toContain(`class:${klass.id}`);
    expect(views[0]!.text).toContain(klass.projectCode);
    // A class of another agency is not found, and nothing is recorded.
    const other = t.db.$client.query("SELECT c.id, p.id AS project FROM classes c JOIN projects p ON p.id = c.project_id WHERE p.agency_id = ? LIMIT 1").get(f.agencyB.id) as { id: number; project: number };
    expect((await clerk.get(`/progetti/${other.project}/aule/${other.id}`)).status).toBe(404);
    expect(rowsOf(await (await fund.get("/fondo/registro?azione=class_view")).text())).toHaveLength(1);
  });

  test("is the fund's only", async () => {
    const agency = t.client("192.0.2.46");
    await agency.login(f.rpaA);
    expect((await agency.get("/fondo/registro")).status).toBe(404);
    expect((await agency.get("/fondo/registro/file")).status).toBe(404);
    expect((await t.client("192.0.2.47").get("/fondo/registro")).status).toBe(303);
  });
});
