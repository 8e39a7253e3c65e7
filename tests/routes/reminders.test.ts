import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createDeps } from "../../src/deps.ts";
import { reminderJob } from "../../src/jobs/reminders.ts";
import { localDateTime } from "../../src/format.ts";
import { silentLogger } from "../../src/log.ts";
import { grantExtension } from "../../src/services/campaigns.ts";
import { dueReminder } from "../../src/services/reminders.ts";
import { signedIn, tables } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

setDefaultTimeout(30_000);

describe("which reminder is due (Europe/Rome, at 8 in the morning)", () => {
  // Deadline 6 November 2020: 14 days before is in summer time, 7 days before in winter time.
  const at = (instant: string) => localDateTime(new Date(instant), "Europe/Rome");
  test.each([
    ["2020-10-23T05:59:00Z", null, []], // 07:59 summer time
    ["2020-10-23T06:00:00Z", 14, []], // 08:00 summer time
    ["2020-10-30T06:30:00Z", 14, []], // 07:30 winter time: it would be 08:30 in summer
    ["2020-10-30T07:00:00Z", 7, [14]], // 08:00 winter time
    ["2020-11-04T07:00:00Z", 2, [7, 14]], // down since before the 14 days: only the latest
    ["2020-11-06T22:59:00Z", 2, [7, 14]], // the deadline's last minute
    ["2020-11-06T23:00:00Z", null, []], // the deadline has passed: nothing more
  ])("at %s: %p due, %p passed", (instant, due, passed) => {
    expect(dueReminder([14, 7, 2], "2020-11-06", at(instant))).toEqual({ due, passed });
  });
});

/** A test app whose 2019 campaign ends on 6 November 2020, and both agencies with data missing. */
async function campaignApp() {
  const t = await createTestApp();
  t.db.$client.run("UPDATE campaigns SET opens_on = '2020-08-04', deadline = '2020-11-06' WHERE year = 2019");
  const f = fixtures(t.db);
  for (const agency of [f.agencyA, f.agencyB]) {
    t.db.$client.run(
      "UPDATE enrollments SET fascia_debole = NULL WHERE id = (SELECT min(id) FROM enrollments WHERE agency_id = ? AND homogeneous = 0)",
      [agency.id],
    );
  }
  return { t, f, ...tables(t) };
}

const run = (t: TestApp, instant: string) => {
  t.clock.current = new Date(instant);
  return reminderJob.run(t.deps);
};

/** The reminders in the outbox, by the agency whose people receive them. */
function remindersOf(t: TestApp) {
  return t.db.$client
    .query("SELECT recipients, subject, text_body AS text FROM mail_outbox WHERE subject LIKE 'Placement: campagna 2019, %' ORDER BY id")
    .all() as { recipients: string; subject: string; text: string }[];
}

const recipientsOf = (t: TestApp, agencyId: number) =>
  (
    t.db.$client
      .query("SELECT email FROM users WHERE agency_id = ? AND disabled = 0 AND (role = 'rpa' OR (role = 'referent' AND placement_permission = 1)) ORDER BY email")
      .all(agencyId) as { email: string }[]
  ).map((u) => u.email);

const people = (recipients: string) => (JSON.parse(recipients) as string[]).sort();

const complete = (t: TestApp, agencyId: number) => {
  t.db.$client.run("UPDATE enrollments SET fascia_debole = 'NO' WHERE agency_id = ? AND homogeneous = 0 AND fascia_debole IS NULL", [agencyId]);
  t.db.$client.run("UPDATE enrollments SET placed = 0, hire_date = NULL, contract_type = NULL WHERE agency_id = ? AND placed = 1 AND (hire_date IS NULL OR contract_type IS NULL)", [agencyId]);
};

describe("deadline reminders", () => {
  let app: Awaited<ReturnType<typeof campaignApp>>;
  afterAll(() => app.t.close());

  test("at 14 days: one e-mail to each incomplete agency's people, with counts and the link, no personal data; once", async () => {
    app = await campaignApp();
    const { t, f } = app;
    await run(t, "2020-10-23T05:59:00Z");
    expect(remindersOf(t)).toEqual([]);
    await run(t, "2020-10-23T06:00:00Z");
    await run(t, "2020-10-23T06:10:00Z");
    // A restart: a new set of dependencies on the same database decides nothing again.
    await reminderJob.run(createDeps({ db: t.db, config: t.deps.config, clock: t.clock, keys: t.deps.keys, log: silentLogger }));
    const mails = remindersOf(t);
    expect(mails.map((m) => people(m.recipients))).toEqual([recipientsOf(t, f.agencyA.id), recipientsOf(t, f.agencyB.id)]);
    const [mail] = mails;
    expect(mail!.subject).toBe("Placement: campagna 2019, mancano 15 giorni alla scadenza del 06/11/2020");
    expect(mail!.text).toMatch(/iscrizioni in aule non omogenee senza fascia debole: \d+/);
    expect(mail!.text).toContain("http://localhost:3000/placement");
    const names = t.db.$client.query("SELECT surname, codice_fiscale FROM participants").all() as { surname: string; codice_fiscale: string }[];
    for (const m of mails) for (const p of names) expect(m.text).not.toContain(p.codice_fiscale);
  });

  test("an agency that completes before the next one gets no more; the other gets it at 8 in winter time", async () => {
    const { t, f, all } = app;
    complete(t, f.agencyB.id);
    await run(t, "2020-10-30T06:30:00Z");
    expect(remindersOf(t)).toHaveLength(2);
    await run(t, "2020-10-30T07:00:00Z");
    const mails = remindersOf(t);
    expect(mails).toHaveLength(3);
    expect(people(mails[2]!.recipients)).toEqual(recipientsOf(t, f.agencyA.id));
    expect(all("SELECT agency_id, days, outcome FROM reminders WHERE days = 7 ORDER BY agency_id")).toEqual([
      { agency_id: f.agencyA.id, days: 7, outcome: "sent" },
      { agency_id: f.agencyB.id, days: 7, outcome: "complete" },
    ]);
  });

  test("after the deadline nothing more is sent; the next morning the fund gets the agencies still incomplete, once", async () => {
    const { t, f, one } = app;
    await run(t, "2020-11-06T23:30:00Z");
    expect(remindersOf(t)).toHaveLength(3);
    await run(t, "2020-11-07T06:59:00Z");
    await run(t, "2020-11-07T07:00:00Z");
    await run(t, "2020-11-07T09:00:00Z");
    const lists = t.db.$client.query("SELECT recipients, subject, text_body AS text FROM mail_outbox WHERE subject LIKE '%agenzi%incomplet%'").all() as {
      recipients: string;
      subject: string;
      text: string;
    }[];
    expect(lists).toHaveLength(1);
    expect(lists[0]!.subject).toBe("Placement: campagna 2019 scaduta il 06/11/2020, 1 agenzia incompleta");
    expect(JSON.parse(lists[0]!.recipients)).toEqual([f.fund]);
    expect(lists[0]!.text).toContain(f.agencyA.code);
    // The 14 and the 7 days were sent to it; the fund reads how many.
    expect(lists[0]!.text).toMatch(new RegExp(`${f.agencyA.code} .*, 2 promemoria inviati`));
    expect(lists[0]!.text).not.toContain(f.agencyB.code);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM mail_outbox WHERE subject LIKE 'Placement: campagna 2019, %'").n).toBe(3);
  });
});

describe("an incomplete agency with nobody to remind", () => {
  let app: Awaited<ReturnType<typeof campaignApp>>;
  afterAll(() => app.t.close());

  test("is recorded as such, not as sent, and the fund's list says why it had none", async () => {
    app = await campaignApp();
    const { t, f, all } = app;
    // Its Responsabile disabled, its Referenti without the permission: nobody may receive it.
    t.db.$client.run("UPDATE users SET disabled = 1 WHERE agency_id = ? AND role = 'rpa'", [f.agencyB.id]);
    t.db.$client.run("UPDATE users SET placement_permission = 0 WHERE agency_id = ? AND role = 'referent'", [f.agencyB.id]);
    expect(recipientsOf(t, f.agencyB.id)).toEqual([]);
    await run(t, "2020-10-23T06:00:00Z");
    expect(remindersOf(t).map((m) => people(m.recipients))).toEqual([recipientsOf(t, f.agencyA.id)]);
    expect(all("SELECT agency_id, outcome FROM reminders WHERE days = 14 ORDER BY agency_id")).toEqual([
      { agency_id: f.agencyA.id, outcome: "sent" },
      { agency_id: f.agencyB.id, outcome: "unreachable" },
    ]);
    await run(t, "2020-11-07T07:00:00Z");
    const list = t.db.$client.query("SELECT text_body AS text FROM mail_outbox WHERE subject LIKE '%agenzie incomplete%'").get() as { text: string };
    expect(list.text).toMatch(new RegExp(`${f.agencyA.code} .*, 1 promemoria inviato\n`));
    expect(list.text).toMatch(
      new RegExp(`${f.agencyB.code} .*, 0 promemoria inviati, 1 non inviati perché l'agenzia non ha un Responsabile o un Referente abilitato a riceverli`),
    );
  });
});

describe("reminders across a stop, a disabled agency, a proroga, and a campaign without reminders", () => {
  let app: Awaited<ReturnType<typeof campaignApp>>;
  afterAll(() => app.t.close());

  test("down across the 14 and 7 days: only the latest due is sent when it comes back; a disabled agency gets none", async () => {
    app = await campaignApp();
    const { t, f, all } = app;
    t.db.$client.run("UPDATE agencies SET disabled = 1 WHERE id = ?", [f.agencyB.id]);
    await run(t, "2020-11-04T09:00:00Z");
    const mails = remindersOf(t);
    expect(mails).toHaveLength(1);
    expect(people(mails[0]!.recipients)).toEqual(recipientsOf(t, f.agencyA.id));
    expect(mails[0]!.subject).toContain("mancano 3 giorni");
    expect(all("SELECT days, outcome FROM reminders WHERE agency_id = ? ORDER BY days", f.agencyA.id)).toEqual([
      { days: 2, outcome: "sent" },
      { days: 7, outcome: "passed" },
      { days: 14, outcome: "passed" },
    ]);
    expect(all("SELECT * FROM reminders WHERE agency_id = ?", f.agencyB.id)).toEqual([]);
  });

  test("a proroga moves an agency's reminders to its own deadline", async () => {
    const { t, f } = app;
    const fund = t.db.$client.query("SELECT id FROM users WHERE role = 'fund_operator'").get() as { id: number };
    expect(grantExtension(t.db, t.clock, fund.id, { year: 2019, agencyId: f.agencyA.id, deadline: "2020-11-20", reason: "Ritardo" }).ok).toBe(true);
    await run(t, "2020-11-13T06:59:00Z"); // the 14 days before the 20th were due: sent now
    await run(t, "2020-11-13T07:00:00Z"); // the 7 days
    const mails = remindersOf(t).slice(1);
    expect(mails.map((m) => m.subject)).toEqual([
      "Placement: campagna 2019, mancano 8 giorni alla scadenza del 20/11/2020",
      "Placement: campagna 2019, mancano 8 giorni alla scadenza del 20/11/2020",
    ]);
    expect(mails[0]!.text).toContain("La proroga concessa alla tua agenzia per la campagna 2019 scade il 20/11/2020");
  });

  test("with reminders off for the campaign, none is sent", async () => {
    const { t } = app;
    t.db.$client.run("UPDATE campaigns SET reminders_on = 0 WHERE year = 2019");
    const before = remindersOf(t).length;
    await run(t, "2020-11-18T09:00:00Z");
    expect(remindersOf(t)).toHaveLength(before);
  });
});

describe("the fund sets a campaign's reminders", () => {
  let app: Awaited<ReturnType<typeof campaignApp>>;
  afterAll(() => app.t.close());

  test("days as written, reminders on or off; the form comes back filled with the campaign; bad days are refused", async () => {
    app = await campaignApp();
    const { t, f, one } = app;
    const fund = await signedIn(t, f.fund, { page: "/amministrazione/campagne" });
    const save = (promemoria: string, on: boolean) =>
      fund.post("/amministrazione/campagne", { anno: "2019", apertura: "2020-08-04", scadenza: "2020-11-06", promemoria, ...(on ? { promemoria_attivi: "1" } : {}) });
    expect((await save("3; 10 , 3", false)).status).toBe(200);
    expect(one("SELECT reminder_days, reminders_on FROM campaigns WHERE year = 2019")).toEqual({ reminder_days: "[10,3]", reminders_on: 0 });
    const edit = await (await fund.get("/amministrazione/campagne?modifica=2019")).text();
    expect(edit).toContain('name="promemoria" value="10, 3"');
    expect(edit).not.toMatch(/name="promemoria_attivi" value="1" checked/);
    for (const bad of ["0", "abc", "200", "1,2,3,4,5,6,7,8,9,10,11"]) {
      const answer = await save(bad, true);
      expect(answer.status).toBe(422);
      expect(await answer.text()).toContain("Scrivi i giorni prima della scadenza separati da virgole");
    }
    expect(one("SELECT reminder_days, reminders_on FROM campaigns WHERE year = 2019")).toEqual({ reminder_days: "[10,3]", reminders_on: 0 });
    expect((await save("", true)).status).toBe(200);
    expect(one("SELECT reminder_days, reminders_on FROM campaigns WHERE year = 2019")).toEqual({ reminder_days: "[]", reminders_on: 1 });
  });
});
