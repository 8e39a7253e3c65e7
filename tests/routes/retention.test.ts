import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { maintenanceJob } from "../../src/jobs/maintenance.ts";
import { mailJob } from "../../src/jobs/mail.ts";
import { agencyFigures, fundFigures } from "../../src/services/dashboard.ts";
import { closingReport } from "../../src/services/report.ts";
import { keptUntil } from "../../src/services/retention.ts";
import { getCampaign } from "../../src/services/campaigns.ts";
import { bookAndDownload, col, expectCountsKept, readRows, signedIn, tables, uploadAndRun, withRows } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

setDefaultTimeout(60_000);

/** A campaign year with activity: a download, an upload that declares a row, a class page opened, the mails sent. */
async function campaignWithActivity(t: TestApp) {
  const f = fixtures(t.db);
  const { one } = tables(t);
  const clerk = await signedIn(t, f.rpaA);
  const exported = await bookAndDownload(t, clerk);
  const rows = readRows(exported);
  const target = one<{ project: string; class: string; cf: string; project_id: number; class_id: number }>(
    `SELECT p.code AS project, c.code AS class, pa.codice_fiscale AS cf, p.id AS project_id, c.id AS class_id
     FROM enrollments e JOIN projects p ON p.id = e.project_id JOIN classes c ON c.id = e.class_id JOIN participants pa ON pa.id = e.participant_id
     WHERE e.agency_id = ? AND e.homogeneous = 0 AND e.fascia_debole IS NULL ORDER BY e.id LIMIT 1`,
    f.agencyA.id,
  );
  const at = rows.findIndex((r) => r[col("codiceFiscale")] === target.cf && r[col("projectCode")] === target.project && r[col("classCode")] === target.class);
  rows[at]![col("fasciaDebole")] = "NO";
  const { job } = await uploadAndRun(t, clerk, withRows(exported, rows));
  await clerk.get(`/progetti/${target.project_id}/aule/${target.class_id}`);
  await mailJob.run(t.deps);
  return { f, job: job!, clerk };
}

/** A person of 2019 also enrolled in a 2020 campaign, in a project of their agency. */
function enrolAlsoIn2020(t: TestApp, agencyId: number): number {
  const sqlite = t.db.$client;
  const person = (sqlite.query("SELECT e.participant_id AS id FROM enrollments e WHERE e.agency_id = ? AND e.year = 2019 ORDER BY e.id LIMIT 1").get(agencyId) as { id: number }).id;
  sqlite.run("INSERT INTO campaigns (year, opens_on, deadline) VALUES (2020, '2021-08-02', '2021-10-15')");
  const project = (sqlite.query("INSERT INTO projects (agency_id, code, title, training_type, year, start_date, end_date) VALUES (?, '2020-X', 'Corso 2020', 'BASE', 2020, '2020-03-01', '2020-06-30') RETURNING id").get(agencyId) as { id: number }).id;
  const klass = (sqlite.query("INSERT INTO classes (project_id, code, homogeneous) VALUES (?, 'AULA-1', 0) RETURNING id").get(project) as { id: number }).id;
  sqlite.run("INSERT INTO enrollments (class_id, participant_id, project_id, agency_id, year) VALUES (?, ?, ?, ?, 2020)", [klass, person, project, agencyId]);
  return person;
}

describe("retention: the maintenance job anonymises a campaign past its time", () => {
  let t: TestApp;
  afterAll(() => t.close());

  test("detaches every enrollment from the people, removes what ties declarations to them, and keeps the counts", async () => {
    t = await createTestApp();
    const { f, job } = await campaignWithActivity(t);
    const { one, all } = tables(t);
    const twoCampaigns = enrolAlsoIn2020(t, f.agencyA.id);
    const twoCampaignsCf = one<{ codice_fiscale: string }>("SELECT codice_fiscale FROM participants WHERE id = ?", twoCampaigns).codice_fiscale;
    const only2019 = one<{ id: number }>(
      "SELECT pa.id FROM participants pa WHERE NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.participant_id = pa.id AND e.year != 2019) LIMIT 1",
    ).id;

    // The fund keeps 2019 for one year after its deadline (15 October 2020).
    const fund = await signedIn(t, f.fund, { page: "/amministrazione/campagne" });
    const campaign = getCampaign(t.db, 2019)!;
    expect((await fund.post("/amministrazione/campagne", { anno: "2019", apertura: campaign.opensOn, scadenza: campaign.deadline, conservazione: "0" })).status).toBe(422);
    const saved = await fund.post("/amministrazione/campagne", { anno: "2019", apertura: campaign.opensOn, scadenza: campaign.deadline, conservazione: "1" });
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain("conservati fino al 15/10/2021 (1 anni)");
    expect(keptUntil(t.db, getCampaign(t.db, 2019)!, t.deps.config)).toBe("2021-10-15");

    const before = {
      agency: agencyFigures(t.db, f.agencyA.id, 2019, null),
      fund: fundFigures(t.db, 2019),
      report: closingReport(t.db, 2019),
    };
    const files = [
      ...all<{ p: string }>("SELECT file_path AS p FROM import_jobs WHERE year = 2019 UNION ALL SELECT outcome_path FROM import_jobs WHERE year = 2019 UNION ALL SELECT file_path FROM export_jobs WHERE year = 2019"),
    ].map((r) => join(t.dir, r.p));
    expect(files.every((p) => existsSync(p))).toBe(true);
    const mails = all<{ id: number }>("SELECT id FROM mail_outbox WHERE year = 2019 AND status = 'sent'");
    expect(mails.length).toBeGreaterThan(0);

    // The last day kept: nothing happens.
    t.clock.current = new Date("2021-10-15T20:00:00Z");
    await maintenanceJob.run(t.deps);
    expect(getCampaign(t.db, 2019)!.anonymisedAt).toBeNull();
    t.clock.current = new Date("2021-10-16T08:00:00Z");
    await maintenanceJob.run(t.deps);
    expect(getCampaign(t.db, 2019)!.anonymisedAt).not.toBeNull();

    // No declaration of 2019 can be tied to a person.
    const people2019 = all<{ codice_fiscale: string; surname: string; name: string; birth_date: string | null }>(
      "SELECT DISTINCT pa.codice_fiscale, pa.surname, pa.name, pa.birth_date FROM enrollments e JOIN participants pa ON pa.id = e.participant_id WHERE e.year = 2019",
    );
    expect(people2019.every((p) => p.codice_fiscale.startsWith("ANON-") && p.surname === "" && p.name === "" && p.birth_date === null)).toBe(true);
    expect(all("SELECT id FROM enrollments WHERE year = 2019 AND (employer_vat IS NOT NULL OR employer_name IS NOT NULL)")).toEqual([]);
    // The person of two campaigns keeps their record, for 2020 only; one of 2019 alone is gone.
    expect(all<{ year: number }>("SELECT year FROM enrollments WHERE participant_id = ?", twoCampaigns).map((e) => e.year)).toEqual([2020]);
    expect(one<{ codice_fiscale: string }>("SELECT codice_fiscale FROM participants WHERE id = ?", twoCampaigns).codice_fiscale).toBe(twoCampaignsCf);
    expect(all("SELECT id FROM participants WHERE id = ?", only2019)).toEqual([]);

    expect(all("SELECT id FROM enrollment_changes WHERE enrollment_id IN (SELECT id FROM enrollments WHERE year = 2019)")).toEqual([]);
    expect(all("SELECT id FROM import_row_outcomes WHERE import_job_id = ?", job.id)).toEqual([]);
    expect(files.some((p) => existsSync(p))).toBe(false);
    expect(all("SELECT id FROM export_jobs WHERE year = 2019 AND (status = 'ready' OR file_path IS NOT NULL)")).toEqual([]);
    expect(all("SELECT id FROM audit_log WHERE action IN ('class_view', 'export_download', 'upload', 'outcome_download', 'enrollment_edit')")).toEqual([]);
    expect(all("SELECT id FROM mail_outbox WHERE year = 2019")).toEqual([]);
    for (const m of mails) expect(existsSync(join(t.dir, "mail", `${m.id}.eml`))).toBe(false);
    const entry = one<{ user_id: number | null; detail: string }>("SELECT user_id, detail FROM audit_log WHERE action = 'campaign_anonymise'");
    expect(entry.user_id).toBeNull();
    expect(JSON.parse(entry.detail)).toMatchObject({ anonymisedYear: 2019, by: "maintenance", enrollments: 240 });

    // The counts stay: dashboards and the closing report say what they said.
    expect(agencyFigures(t.db, f.agencyA.id, 2019, null)).toEqual(before.agency);
    expect(fundFigures(t.db, 2019)).toEqual(before.fund);
    expect(closingReport(t.db, 2019)).toEqual(before.report);
    expectCountsKept(t.db);
    const page = await signedIn(t, f.rpaA, { page: null });
    expect((await page.get("/placement?anno=2019")).status).toBe(200);
    expect((await page.get("/placement/riepilogo?anno=2019")).status).toBe(200);

    // One person's data no longer shows 2019.
    const fundAgain = await signedIn(t, f.fund, { page: "/fondo/persona" });
    expect(await (await fundAgain.post("/fondo/persona", { cf: twoCampaignsCf })).text()).toContain("Iscrizioni: <strong>1</strong>");

    // Once is enough.
    await maintenanceJob.run(t.deps);
    expect(all("SELECT id FROM audit_log WHERE action = 'campaign_anonymise'")).toHaveLength(1);
  });
});

describe("retention: the fund anonymises a closed campaign by hand, with a confirmation", () => {
  let t: TestApp;
  afterAll(() => t.close());

  test("refused while open and without the confirmation; then done, audited, and its data file can no longer be booked", async () => {
    t = await createTestApp({ enrollments: 60 });
    const f = fixtures(t.db);
    const { one, all } = tables(t);
    let fund = await signedIn(t, f.fund, { page: "/amministrazione/campagne/2019/anonimizza" });
    // 15 September 2020: the campaign is still open.
    const open = await (await fund.get("/amministrazione/campagne/2019/anonimizza")).text();
    expect(open).toContain("ancora aperta per almeno un&#39;agenzia");
    expect((await fund.post("/amministrazione/campagne/2019/anonimizza", { conferma: "2019" })).status).toBe(422);

    t.clock.current = new Date("2020-10-20T08:00:00Z");
    fund = await signedIn(t, f.fund, { page: "/amministrazione/campagne/2019/anonimizza" });
    const page = await (await fund.get("/amministrazione/campagne/2019/anonimizza")).text();
    expect(page).toContain("Le 60 iscrizioni della campagna 2019");
    const unconfirmed = await fund.post("/amministrazione/campagne/2019/anonimizza", { conferma: "2018" });
    expect(unconfirmed.status).toBe(422);
    expect(await unconfirmed.text()).toContain("Per confermare scrivi 2019 nel campo: nulla è stato cambiato.");
    expect(getCampaign(t.db, 2019)!.anonymisedAt).toBeNull();
    expect(all("SELECT id FROM participants WHERE codice_fiscale LIKE 'ANON-%'")).toEqual([]);

    const done = await fund.post("/amministrazione/campagne/2019/anonimizza", { conferma: "2019" });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("Campagna 2019 anonimizzata: 60 iscrizioni");
    const entry = one<{ user_id: number; detail: string }>("SELECT user_id, detail FROM audit_log WHERE action = 'campaign_anonymise'");
    expect(entry.user_id).toBe(one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.fund).id);
    expect(JSON.parse(entry.detail)).toMatchObject({ by: "fund" });
    expect((await fund.post("/amministrazione/campagne/2019/anonimizza", { conferma: "2019" })).status).toBe(422);

    await fund.get("/placement/import-massivo");
    const booked = await fund.post("/fondo/dati-acquisiti", { anno: "2019", formato: "xlsx", tipologie: "BASE" });
    expect(booked.status).toBe(422);
    expect(await booked.text()).toContain("sono stati anonimizzati: il file non si può più preparare");
    // No proroga opens its window again: there is nobody left to declare for.
    await fund.get("/amministrazione/campagne");
    const extended = await fund.post("/amministrazione/campagne/proroghe", { anno: "2019", agenzia: String(f.agencyA.id), scadenza: "2020-12-31", motivo: "ritardo" });
    expect(extended.status).toBe(422);
    expect(await extended.text()).toContain("non si può più concedere una proroga");
    expect(all("SELECT id FROM campaign_extensions")).toEqual([]);
  });
});
