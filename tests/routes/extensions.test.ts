import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { grantExtension } from "../../src/services/campaigns.ts";
import { book, bookAndDownload, signedIn, tables, upload } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestClient } from "../helpers/test-app.ts";

setDefaultTimeout(30_000);

const t = await createTestApp();
afterAll(() => t.close());
// The 2019 campaign as the circular set it: from 4 August to 30 November 2020 (Europe/Rome).
t.db.$client.run("UPDATE campaigns SET opens_on = '2020-08-04', deadline = '2020-11-30' WHERE year = 2019");
const f = fixtures(t.db);
const { one, all } = tables(t);
const fundId = one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.fund).id;
let fund = await signedIn(t, f.fund, { page: "/amministrazione/campagne" });
let clerkA = await signedIn(t, f.rpaA);
let clerkB = await signedIn(t, f.rpaB);
// A file of each agency, downloaded while the campaign is open, to upload after its deadline.
const fileA = await bookAndDownload(t, clerkA);
const fileB = await bookAndDownload(t, clerkB);

const grant = (form: Record<string, string>) => fund.post("/amministrazione/campagne/proroghe", form);
// Weeks later every session has lapsed: each person signs in again at the new moment.
async function at(instant: string) {
  t.clock.current = new Date(instant);
  fund = await signedIn(t, f.fund, { page: "/amministrazione/campagne", address: "198.51.100.1" });
  clerkA = await signedIn(t, f.rpaA, { address: "198.51.100.2" });
  clerkB = await signedIn(t, f.rpaB, { address: "198.51.100.3" });
}
const bookBase = (client: TestClient) => book(client, { anno: "2019", formato: "xlsx", tipologie: "BASE" });

describe("granting a proroga", () => {
  test.each([
    ["2020-11-30", "deve finire dopo la scadenza della campagna 2019 (30/11/2020)"],
    ["2020-11-29", "deve finire dopo la scadenza della campagna 2019 (30/11/2020)"],
    ["", "Scrivi il giorno in cui finisce la proroga"],
    ["2020-13-45", "Scrivi il giorno in cui finisce la proroga"],
  ])("a deadline of %p is refused with a sentence, and nothing is granted", async (deadline, sentence) => {
    const answer = await grant({ anno: "2019", agenzia: String(f.agencyA.id), scadenza: deadline, motivo: "Ritardo del sistema gestionale" });
    expect(answer.status).toBe(422);
    expect(await answer.text()).toContain(sentence);
    expect(all("SELECT * FROM campaign_extensions")).toEqual([]);
  });

  test.each([
    ["an agency that does not exist", { year: 2019, agencyId: 999_999, reason: "Motivo" }, "agency", "Scegli dall'elenco l'agenzia"],
    ["a year without a campaign", { year: 2031, agencyId: 0, reason: "Motivo" }, "year", "Non esiste una campagna per l'anno 2031"],
    ["a blank reason", { year: 2019, agencyId: 0, reason: "   " }, "reason", "Scrivi il motivo della proroga"],
    ["a reason of 501 characters", { year: 2019, agencyId: 0, reason: "x".repeat(501) }, "reason", "al massimo 500 caratteri"],
  ])("%s is refused", (_, input, field, sentence) => {
    const result = grantExtension(t.db, t.clock, fundId, { deadline: "2020-12-15", ...input, agencyId: input.agencyId || f.agencyA.id });
    expect(result).toMatchObject({ ok: false, field, error: expect.stringContaining(sentence) });
  });
});

describe("an agency with a proroga after the campaign's deadline", () => {
  test("the fund grants it once the deadline has passed: audited, listed, shown to the fund", async () => {
    await at("2020-12-05T10:00:00Z");
    const answer = await grant({ anno: "2019", agenzia: String(f.agencyA.id), scadenza: "2020-12-15", motivo: "Ritardo del sistema gestionale" });
    expect(answer.status).toBe(200);
    const html = await answer.text();
    expect(html).toContain("Proroga concessa fino al 15/12/2020.");
    expect(html).toContain("Ritardo del sistema gestionale");
    const entry = one<{ agency_id: number; detail: string }>("SELECT agency_id, detail FROM audit_log WHERE action = 'extension_grant'");
    expect(entry.agency_id).toBe(f.agencyA.id);
    expect(JSON.parse(entry.detail)).toMatchObject({ deadline: "2020-12-15", previousDeadline: null });
    const fundTable = await (await fund.get("/fondo?anno=2019")).text();
    expect(fundTable).toContain("proroga fino al 15/12/2020");
  });

  test("books, uploads and edits on the page again; the other agency does not", async () => {
    const before = one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n;
    expect((await bookBase(clerkA)).status).toBe(303);
    expect(all<{ agency_id: number }>("SELECT agency_id FROM export_jobs WHERE id > ?", before)).toEqual([{ agency_id: f.agencyA.id }]);
    expect((await upload(clerkA, fileA)).status).toBe(200);

    const refused = await upload(clerkB, fileB);
    expect(refused.status).toBe(422);
    expect(refused.html).toContain("La campagna 2019 è chiusa: la scadenza era il 30/11/2020.");
    const booking = await bookBase(clerkB);
    expect(booking.status).toBe(422);
    expect(await booking.text()).toContain("La campagna 2019 è chiusa");
    expect(one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n).toBe(before + 1);

    const row = one<{ id: number; project_id: number; class_id: number }>(
      "SELECT e.id, e.project_id, e.class_id FROM enrollments e JOIN classes c ON c.id = e.class_id WHERE e.agency_id = ? AND c.homogeneous = 0 LIMIT 1",
      f.agencyA.id,
    );
    const edit = await clerkA.get(`/progetti/${row.project_id}/aule/${row.class_id}/iscrizioni/${row.id}/modifica`, { "HX-Request": "true" });
    expect(edit.status).toBe(200);
  });

  test("sees its own deadline on the Placement page and the dashboard; the other agency sees the campaign's", async () => {
    const placement = await (await clerkA.get("/placement/import-massivo")).text();
    expect(placement).toContain("proroga fino al 15/12/2020");
    expect(placement).toContain("la scadenza della campagna è il 30/11/2020");
    const dashboard = await (await clerkA.get("/placement?anno=2019")).text();
    expect(dashboard).toContain("proroga fino al 15/12/2020");
    expect(dashboard).toContain("Mancano 11 giorni.");
    const other = await (await clerkB.get("/placement/import-massivo")).text();
    expect(other).not.toContain("proroga");
  });

  test("once the proroga has passed, the agency is refused with a sentence that names it", async () => {
    await at("2020-12-15T22:59:59Z");
    expect((await upload(clerkA, fileA)).status).toBe(200);
    await at("2020-12-15T23:00:00Z");
    const refused = await upload(clerkA, fileA);
    expect(refused.status).toBe(422);
    expect(refused.html).toContain("La proroga concessa alla tua agenzia per la campagna 2019 è scaduta il 15/12/2020");
  });

  test("moving it is audited with the deadline it replaces; removing it closes the window again, audited", async () => {
    await grant({ anno: "2019", agenzia: String(f.agencyA.id), scadenza: "2020-12-20", motivo: "Seconda richiesta" });
    const moved = one<{ detail: string }>("SELECT detail FROM audit_log WHERE action = 'extension_grant' ORDER BY id DESC LIMIT 1");
    expect(JSON.parse(moved.detail)).toMatchObject({ deadline: "2020-12-20", previousDeadline: "2020-12-15" });
    expect((await upload(clerkA, fileA)).status).toBe(200);

    const id = one<{ id: number }>("SELECT id FROM campaign_extensions").id;
    const removed = await fund.post(`/amministrazione/campagne/proroghe/${id}/rimuovi`, {});
    expect(removed.status).toBe(200);
    expect(one<{ agency_id: number }>("SELECT agency_id FROM audit_log WHERE action = 'extension_remove'").agency_id).toBe(f.agencyA.id);
    const refused = await upload(clerkA, fileA);
    expect(refused.html).toContain("La campagna 2019 è chiusa");
    expect((await fund.post(`/amministrazione/campagne/proroghe/${id}/rimuovi`, {})).status).toBe(404);
  });
});

describe("a proroga only ever gives more time", () => {
  test("once the campaign's deadline is moved past it, the agency follows the campaign's", async () => {
    await at("2020-12-05T10:00:00Z");
    await grant({ anno: "2019", agenzia: String(f.agencyA.id), scadenza: "2020-12-15", motivo: "Ritardo" });
    t.db.$client.run("UPDATE campaigns SET deadline = '2020-12-31' WHERE year = 2019");
    await at("2020-12-20T10:00:00Z");
    expect((await upload(clerkA, fileA)).status).toBe(200);
    expect(await (await clerkA.get("/placement/import-massivo")).text()).not.toContain("proroga fino al");
    t.db.$client.run("UPDATE campaigns SET deadline = '2020-11-30' WHERE year = 2019");
  });
});
