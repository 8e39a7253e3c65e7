import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync, strFromU8 } from "fflate";
import * as XLSX from "xlsx";
import { drainExports } from "../../src/jobs/exports.ts";
import { claimNext, completeJob, LEASE_MS, MAX_ATTEMPTS } from "../../src/jobs/queue.ts";
import { sendPendingMail } from "../../src/mail/outbox.ts";
import { silentLogger } from "../../src/log.ts";
import { mailTransportFor } from "../../src/mail/transport.ts";
import { expireOldExports } from "../../src/services/exports.ts";
import { agencyRecipients } from "../../src/services/notifications.ts";
import { versionText } from "../../src/sheets/cells.ts";
import { TRAINEE_COLUMNS } from "../../src/sheets/columns.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import { unusedPort } from "../helpers/ports.ts";
import { book, signedIn, tables, type Queries } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// Sign-ins verify argon2id hashes, on purpose slow: on a busy machine a test takes seconds.
setDefaultTimeout(30_000);

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

/** The two training types with the most enrollments for agency A, so the file has rows. */
function busiestTypes(agencyId: number): string[] {
  return all<{ t: string }>(
    `SELECT p.training_type AS t FROM enrollments e JOIN projects p ON p.id = e.project_id
     WHERE e.agency_id = ? GROUP BY p.training_type ORDER BY count(*) DESC LIMIT 2`,
    agencyId,
  ).map((r) => r.t);
}

const disableAgency = (id: number, disabled: boolean) =>
  t.db.$client.query("UPDATE agencies SET disabled = ? WHERE id = ?").run(disabled ? 1 : 0, id);

const lastJob = () =>
  one<{ id: number; status: string; file_path: string | null; row_count: number | null; error: string | null; attempts: number }>(
    "SELECT * FROM export_jobs ORDER BY id DESC LIMIT 1",
  );

/** The rows the file must hold, computed straight from the tables. */
function expectedRows(agencyId: number, types: string[]) {
  return all<Record<string, string | number | null>>(
    `SELECT p.code, p.title, p.training_type, c.code AS class_code, c.homogeneous, pa.codice_fiscale, pa.surname, pa.name,
            CASE WHEN c.homogeneous = 1 THEN c.category ELSE e.fascia_debole END AS fascia,
            e.placed, e.hire_date, e.contract_type, e.employer_vat, e.employer_name, e.id, e.revision
     FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = c.project_id
     JOIN participants pa ON pa.id = e.participant_id
     WHERE p.agency_id = ? AND p.year = 2019 AND p.training_type IN (${types.map(() => "?").join(",")})`,
    agencyId,
    ...types,
  ).map((r) => [
    r.code,
    r.title,
    r.training_type,
    r.class_code,
    r.homogeneous ? "SI" : "NO",
    r.codice_fiscale,
    r.surname,
    r.name,
    r.fascia ?? "",
    r.placed === null ? "" : r.placed ? "SI" : "NO",
    r.hire_date ?? "",
    r.contract_type ?? "",
    r.employer_vat ?? "",
    r.employer_name ?? "",
    versionText({ enrollmentId: Number(r.id), revision: Number(r.revision) }),
  ]);
}

const byKey = (a: unknown[], b: unknown[]) => String(a.slice(0, 6)).localeCompare(String(b.slice(0, 6)));

describe("booking a download", () => {
  test("queued → running → ready; the xlsx holds exactly the chosen types and year", async () => {
    const types = busiestTypes(f.agencyA.id);
    const client = await signedIn(t, f.rpaA);
    const response = await book(client, { tipologie: types, anno: "2019", formato: "xlsx", email: "" });
    expect(response.status).toBe(303);
    const queued = lastJob();
    expect(queued.status).toBe("queued");

    const row = await (await client.get(`/placement/prenotazioni/${queued.id}`)).text();
    expect(row).toContain('hx-trigger="every 1s"');
    expect(row).toContain("in coda");

    await drainExports(t.deps);
    const ready = lastJob();
    expect(ready.status).toBe("ready");
    expect(ready.attempts).toBe(1);
    const done = await (await client.get(`/placement/prenotazioni/${ready.id}`)).text();
    expect(done).not.toContain("hx-trigger");
    expect(done).toContain("disponibile");
    expect(done).toContain(`/placement/prenotazioni/${ready.id}/file`);

    const download = await client.request(`/placement/prenotazioni/${ready.id}/file`);
    expect(download.status).toBe(200);
    expect(download.headers.get("Content-Disposition")).toBe(
      `attachment; filename="fasce-deboli_${f.agencyA.code}_2019_${ready.id}.xlsx"`,
    );
    const bytes = new Uint8Array(await download.arrayBuffer());
    const workbook = XLSX.read(bytes, { cellDates: true, dense: true });
    expect(workbook.SheetNames).toEqual(["Allievi", "Legenda", "Metadati"]);
    expect(workbook.Workbook?.Sheets?.map((s) => s.Hidden)).toEqual([0, 0, 1]);

    const sheet = workbook.Sheets["Allievi"]!;
    const [header, ...rows] = XLSX.utils.sheet_to_json<unknown[]>(sheet, { header: 1, defval: "", raw: true });
    expect(header).toEqual(TRAINEE_COLUMNS.map((c) => c.header));
    const dateColumn = TRAINEE_COLUMNS.findIndex((c) => c.kind === "date");
    const asText = rows.map((r) =>
      r.map((v, i) => (i === dateColumn && v instanceof Date ? v.toISOString().slice(0, 10) : v)),
    );
    const expected = expectedRows(f.agencyA.id, types);
    expect(expected.length).toBeGreaterThan(0);
    expect(ready.row_count).toBe(expected.length);
    expect(asText.sort(byKey)).toEqual(expected.sort(byKey));
    expect(expected.some((r) => r[4] === "SI")).toBe(true);

    // Codes are text cells; hire dates are real dates.
    const cells = sheet["!data"]!;
    expect(cells[1]![5]!.t).toBe("s");
    const dated = cells.find((r, i) => i > 0 && r?.[dateColumn]?.v);
    if (dated) expect(dated[dateColumn]!.t).toBe("d");

    const metadata = Object.fromEntries(XLSX.utils.sheet_to_json<string[]>(workbook.Sheets["Metadati"]!, { header: 1 }));
    expect(metadata).toMatchObject({
      booking_id: String(ready.id),
      agency_code: f.agencyA.code,
      year: "2019",
      training_types: [...types].sort().join(","),
      format_version: "1",
    });
    const legend = XLSX.utils.sheet_to_csv(workbook.Sheets["Legenda"]!);
    for (const code of ["DIS6M", "MOLTOSV", "DISAB", "STD", "APP", "Fascia debole"]) expect(legend).toContain(code);

    const xml = strFromU8(unzipSync(bytes)["xl/worksheets/sheet1.xml"]!);
    expect(xml).toContain('state="frozen"');
    expect(xml).toContain("<dataValidations");
    const homogeneous = expected.filter((r) => r[4] === "SI").length;
    expect(xml.match(/s="4"/g)?.length ?? 0).toBe(homogeneous);

    const audit = one<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action = 'export_download' AND target LIKE ?", `%_${ready.id}.xlsx`);
    expect(audit.n).toBe(1);
  });

  test("CSV is ;-separated UTF-8 with BOM and CRLF, and reads back to the same rows", async () => {
    const types = busiestTypes(f.agencyA.id);
    const client = await signedIn(t, f.referentA);
    expect((await book(client, { tipologie: types, anno: "2019", formato: "csv" })).status).toBe(303);
    await drainExports(t.deps);
    const job = lastJob();
    const response = await client.request(`/placement/prenotazioni/${job.id}/file`);
    expect(response.headers.get("Content-Type")).toContain("text/csv");
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(bytes.slice(3));
    const lines = text.split("\r\n");
    expect(lines[0]).toBe(TRAINEE_COLUMNS.map((c) => c.header).join(";"));
    expect(lines.at(-1)).toBe("");
    expect(text.replace(/\r\n/g, "")).not.toContain("\n");

    const workbook = XLSX.read(text, { type: "string", FS: ";", raw: true, dense: true });
    const [, ...rows] = XLSX.utils.sheet_to_json<string[]>(workbook.Sheets[workbook.SheetNames[0]!]!, { header: 1, defval: "", raw: true });
    const expected = expectedRows(f.agencyA.id, types).map((r) =>
      r.map((v, i) => (i === 10 && v ? String(v).split("-").reverse().join("/") : v)),
    );
    expect(rows.map((r) => r.map(String)).sort(byKey)).toEqual(expected.map((r) => r.map(String)).sort(byKey));
  });

  test("cells that start like formulas are neutralised in both formats", async () => {
    const enrollment = one<{ id: number; participant_id: number; training_type: string }>(
      `SELECT e.id, e.participant_id, p.training_type FROM enrollments e JOIN projects p ON p.id = e.project_id
       WHERE e.agency_id = ? LIMIT 1`,
      f.agencyA.id,
    );
    const original = one<{ surname: string; name: string }>("SELECT surname, name FROM participants WHERE id = ?", enrollment.participant_id);
    t.db.$client.query("UPDATE participants SET surname = ?, name = ? WHERE id = ?").run('=HYPERLINK("http://x","y")', "@SUM(A1)", enrollment.participant_id);
    t.db.$client.query("UPDATE enrollments SET employer_name = ? WHERE id = ?").run("-2+3", enrollment.id);
    try {
      const client = await signedIn(t, f.rpaA);
      for (const format of ["xlsx", "csv"]) {
        await book(client, { tipologie: enrollment.training_type, anno: "2019", formato: format });
        await drainExports(t.deps);
        const bytes = new Uint8Array(await (await client.request(`/placement/prenotazioni/${lastJob().id}/file`)).arrayBuffer());
        const workbook = format === "csv"
          ? XLSX.read(new TextDecoder().decode(bytes), { type: "string", FS: ";", raw: true })
          : XLSX.read(bytes);
        const rows = XLSX.utils.sheet_to_json<string[]>(workbook.Sheets[workbook.SheetNames[0]!]!, { header: 1, raw: true });
        const flat = rows.flat().map(String);
        expect(flat).toContain(`'=HYPERLINK("http://x","y")`);
        expect(flat).toContain("'@SUM(A1)");
        expect(flat).toContain("'-2+3");
        expect(flat.some((v) => /^[=+\-@]/.test(v))).toBe(false);
      }
    } finally {
      t.db.$client.query("UPDATE participants SET surname = ?, name = ? WHERE id = ?").run(original.surname, original.name, enrollment.participant_id);
      t.db.$client.query("UPDATE enrollments SET employer_name = NULL WHERE id = ?").run(enrollment.id);
    }
  });
});

describe("the booking form", () => {
  test("a mistake re-renders the form with the message next to the field, and queues nothing", async () => {
    const client = await signedIn(t, f.rpaA);
    const before = one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n;
    const response = await book(client, { anno: "2019", formato: "xlsx", email: "non-una-mail" }, { htmx: true });
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toStartWith('<section id="export-section">');
    expect(html).toContain("Scegli almeno una tipologia formativa.");
    expect(html).toContain("L&#39;indirizzo e-mail aggiuntivo non è valido");
    expect(html).toContain('value="non-una-mail"');
    expect(one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n).toBe(before);
  });

  test("without JavaScript a mistake shows the whole page with the message", async () => {
    const client = await signedIn(t, f.rpaA);
    const response = await book(client, { tipologie: "NONESISTE", anno: "2019", formato: "xlsx" });
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain("<!DOCTYPE html>");
    expect(html).toContain("Tipologia formativa sconosciuta: NONESISTE.");
  });

  test("after the deadline the booking is refused with the dates; a job queued before still runs", async () => {
    const client = await signedIn(t, f.rpaA);
    await book(client, { tipologie: busiestTypes(f.agencyA.id), anno: "2019", formato: "xlsx" });
    const queuedBefore = lastJob();
    const saved = t.clock.current;
    const deadline = one<{ deadline: string }>("SELECT deadline FROM campaigns WHERE year = 2019").deadline;
    t.clock.current = new Date(`${deadline}T23:30:00Z`); // 00:30 the next day in Rome
    try {
      const late = await signedIn(t, f.rpaA);
      const response = await book(late, { tipologie: "BASE", anno: "2019", formato: "xlsx" }, { htmx: true });
      expect(response.status).toBe(422);
      const [y, m, d] = deadline.split("-");
      expect(await response.text()).toContain(`La campagna 2019 è chiusa: la scadenza era il ${d}/${m}/${y}.`);
      expect(lastJob().id).toBe(queuedBefore.id);
      await drainExports(t.deps);
      expect(lastJob().status).toBe("ready");
    } finally {
      t.clock.current = saved;
    }
  });

  test("an operator without the permission cannot book", async () => {
    const client = t.client();
    await client.login(f.operatorA);
    const before = one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n;
    const response = await book(client, { tipologie: "BASE", anno: "2019", formato: "xlsx" });
    expect(response.status).toBe(403);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n).toBe(before);
  });
});

describe("download rights", () => {
  test("another agency, no permission and anonymous all fail; the fund may download", async () => {
    const client = await signedIn(t, f.rpaA);
    await book(client, { tipologie: busiestTypes(f.agencyA.id), anno: "2019", formato: "xlsx" });
    await drainExports(t.deps);
    const path = `/placement/prenotazioni/${lastJob().id}/file`;

    const other = t.client();
    await other.login(f.rpaB);
    expect((await other.request(path)).status).toBe(404);
    expect((await other.request(path.replace("/file", ""))).status).toBe(404);
    expect(await (await other.get("/placement/import-massivo")).text()).not.toContain(path);

    const operator = t.client();
    await operator.login(f.operatorA);
    expect((await operator.request(path)).status).toBe(403);

    const anonymous = t.client();
    const response = await anonymous.request(path);
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toStartWith("/login");

    const fund = t.client();
    await fund.login(f.fund);
    expect((await fund.request(path)).status).toBe(200);
    expect(await (await fund.get("/placement/import-massivo")).text()).toContain(path);
  });

  test("the retention job expires old files; their link answers 410 with a sentence", async () => {
    const client = await signedIn(t, f.rpaA);
    await book(client, { tipologie: busiestTypes(f.agencyA.id), anno: "2019", formato: "xlsx" });
    await drainExports(t.deps);
    const job = lastJob();
    expect(existsSync(join(t.dir, job.file_path!))).toBe(true);
    expect(expireOldExports(t.db, t.clock, t.deps.config)).toBe(0);
    const saved = t.clock.current;
    t.clock.advance(31 * 86_400_000);
    try {
      expect(expireOldExports(t.db, t.clock, t.deps.config)).toBeGreaterThanOrEqual(1);
    } finally {
      t.clock.current = saved;
    }
    expect(existsSync(join(t.dir, job.file_path!))).toBe(false);
    expect(lastJob().status).toBe("expired");
    const response = await client.request(`/placement/prenotazioni/${job.id}/file`);
    expect(response.status).toBe(410);
    expect(await response.text()).toContain("Il file non è più disponibile");
    expect(await (await client.get(`/placement/prenotazioni/${job.id}`)).text()).toContain("scaduta");
  });
});

describe("the queue", () => {
  test("a lease that expires mid-job (a crash) is taken over; the job completes exactly once", async () => {
    const client = await signedIn(t, f.rpaA);
    await book(client, { tipologie: busiestTypes(f.agencyA.id), anno: "2019", formato: "xlsx" });
    const mailsBefore = one<{ n: number }>("SELECT count(*) AS n FROM mail_outbox").n;
    const crashed = claimNext(t.db, "export_jobs", t.clock.now(), "agency")!;
    expect(crashed).not.toBeNull();
    expect(claimNext(t.db, "export_jobs", t.clock.now(), "agency")).toBeNull();

    t.clock.advance(LEASE_MS + 1);
    await drainExports(t.deps);
    const job = lastJob();
    expect(job.id).toBe(crashed.id);
    expect(job.status).toBe("ready");
    expect(job.attempts).toBe(2);
    // The crashed runner coming back cannot finish the job a second time.
    expect(completeJob(t.db, "export_jobs", crashed, t.clock.now(), "ready", {})).toBe(false);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM mail_outbox").n).toBe(mailsBefore + 1);
    const files = readdirSync(join(t.dir, "exports")).filter((name) => name.startsWith(`${job.id}-`));
    expect(files).toHaveLength(1);
  });

  test("a failing job is retried with a wait, then marked failed with its reason, and the agency is told", async () => {
    const client = await signedIn(t, f.rpaA);
    await book(client, { tipologie: busiestTypes(f.agencyA.id), anno: "2019", formato: "xlsx" });
    const job = lastJob();
    // A file where the exports folder should be: every attempt fails.
    const exportsDir = join(t.dir, "exports");
    const moved = join(t.dir, "exports-aside");
    const { renameSync } = await import("node:fs");
    renameSync(exportsDir, moved);
    writeFileSync(exportsDir, "not a folder");
    try {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        await drainExports(t.deps);
        const now = lastJob();
        expect(now.attempts).toBe(attempt);
        expect(now.status).toBe(attempt < MAX_ATTEMPTS ? "queued" : "failed");
        await drainExports(t.deps); // not due yet: nothing happens
        expect(lastJob().attempts).toBe(attempt);
        t.clock.advance(10 * 60_000);
      }
    } finally {
      const { rmSync } = await import("node:fs");
      rmSync(exportsDir);
      renameSync(moved, exportsDir);
    }
    const failed = lastJob();
    expect(failed.id).toBe(job.id);
    expect(failed.error).toBeTruthy();
    const row = await (await client.get(`/placement/prenotazioni/${job.id}`)).text();
    expect(row).toContain("non riuscita");
    const mail = one<{ subject: string; text_body: string }>("SELECT subject, text_body FROM mail_outbox ORDER BY id DESC LIMIT 1");
    expect(mail.subject).toContain(`non generato (prenotazione n. ${job.id})`);
    expect(mail.text_body).toContain("Puoi prenotare di nuovo");
  });
});

describe("a disabled agency", () => {
  test("its bookings wait in the queue until it is enabled again", async () => {
    await drainExports(t.deps);
    const client = await signedIn(t, f.rpaB);
    await book(client, { tipologie: busiestTypes(f.agencyB.id).slice(0, 1), anno: "2019", formato: "csv" });
    const booked = lastJob();
    disableAgency(f.agencyB.id, true);
    try {
      expect(claimNext(t.db, "export_jobs", t.clock.now(), "agency")).toBeNull();
      await drainExports(t.deps);
      expect(lastJob()).toMatchObject({ id: booked.id, status: "queued", attempts: 0 });
    } finally {
      disableAgency(f.agencyB.id, false);
    }
    await drainExports(t.deps);
    expect(lastJob()).toMatchObject({ id: booked.id, status: "ready" });
  });

  test("is told nothing, not even at a booking's extra address", () => {
    expect(agencyRecipients(t.db, f.agencyB.id, "ufficio@agenzia.example")).toContain(f.rpaB);
    disableAgency(f.agencyB.id, true);
    try {
      expect(agencyRecipients(t.db, f.agencyB.id, "ufficio@agenzia.example")).toEqual([]);
    } finally {
      disableAgency(f.agencyB.id, false);
    }
  });
});

describe("notifications", () => {
  test("a real SMTP server receives one message per export, to the right people, without personal data", async () => {
    const sink = await startSmtpSink();
    const app = await createTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${sink.port}`, BASE_URL: "https://placement.example.org" } });
    try {
      const fx = fixtures(app.db);
      const client = await signedIn(app, fx.referentA);
      await book(client, { tipologie: busiestTypes(fx.agencyA.id).slice(0, 1), anno: "2019", formato: "xlsx", email: "Ufficio@Agenzia.example" });
      await drainExports(app.deps);
      const result = await sendPendingMail(app.db, app.clock, app.deps.mail, app.deps.config.MAIL_FROM, silentLogger);
      expect(result).toEqual({ sent: 1, failed: 0 });
      expect(sink.messages).toHaveLength(1);
      const message = sink.messages[0]!;
      expect(message.to.sort()).toEqual([fx.referentA, fx.rpaA, "ufficio@agenzia.example"].sort());
      expect(message.to).not.toContain(fx.operatorA);
      // Quoted-printable folds long lines with "=" at their end.
      const text = message.raw.replace(/=\r\n/g, "");
      expect(text).toContain("https://placement.example.org/placement/import-massivo");
      const codes = all<{ codice_fiscale: string }>("SELECT codice_fiscale FROM participants").map((p) => p.codice_fiscale);
      expect(codes.some((code) => text.includes(code))).toBe(false);
      expect(app.db.$client.query("SELECT status FROM mail_outbox").all()).toEqual([{ status: "sent" }]);
    } finally {
      app.close();
      await sink.close();
    }
  });

  test("with SMTP down the message stays pending, and goes once the server is back", async () => {
    const port = unusedPort();
    const app = await createTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
    try {
      const fx = fixtures(app.db);
      const client = await signedIn(app, fx.rpaA);
      await book(client, { tipologie: busiestTypes(fx.agencyA.id).slice(0, 1), anno: "2019", formato: "csv" });
      await drainExports(app.deps);
      const down = await sendPendingMail(app.db, app.clock, app.deps.mail, app.deps.config.MAIL_FROM, silentLogger);
      expect(down).toEqual({ sent: 0, failed: 1 });
      const pending = app.db.$client.query("SELECT status, attempts, last_error FROM mail_outbox").get() as Record<string, unknown>;
      expect(pending.status).toBe("pending");
      expect(pending.attempts).toBe(1);
      expect(String(pending.last_error)).toContain("ECONNREFUSED");

      const sink = await startSmtpSink({ port });
      try {
        expect((await sendPendingMail(app.db, app.clock, app.deps.mail, app.deps.config.MAIL_FROM, silentLogger)).sent).toBe(0);
        app.clock.advance(60_000);
        expect((await sendPendingMail(app.db, app.clock, app.deps.mail, app.deps.config.MAIL_FROM, silentLogger)).sent).toBe(1);
        expect(sink.messages).toHaveLength(1);
      } finally {
        await sink.close();
      }
    } finally {
      app.close();
    }
  });

  test("without SMTP, messages are written as .eml files in the data folder", async () => {
    const transport = mailTransportFor({ SMTP_URL: "", DATA_DIR: t.dir });
    expect(transport.kind).toBe("files");
    await book(await signedIn(t, f.rpaA), { tipologie: busiestTypes(f.agencyA.id), anno: "2019", formato: "csv" });
    await drainExports(t.deps);
    const pendingBefore = one<{ n: number }>("SELECT count(*) AS n FROM mail_outbox WHERE status = 'pending'").n;
    expect(pendingBefore).toBeGreaterThan(0);
    await sendPendingMail(t.db, t.clock, transport, "Placement <placement@localhost>", silentLogger);
    const ids = all<{ id: number }>("SELECT id FROM mail_outbox WHERE status = 'sent'").map((r) => `${r.id}.eml`);
    const files = readdirSync(join(t.dir, "mail"));
    expect(files.sort()).toEqual(ids.sort());
    const eml = await Bun.file(join(t.dir, "mail", files[0]!)).text();
    expect(eml).toContain("Subject: Placement:");

    const fund = t.client();
    await fund.login(f.fund);
    const page = await (await fund.get("/fondo/posta")).text();
    expect(page).toContain("Nessun server SMTP configurato");
    expect(page).toContain(`href="/fondo/posta/${files[0]}"`);
    const download = await fund.request(`/fondo/posta/${files[0]}`);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe(eml);
    expect((await fund.request("/fondo/posta/99999.eml")).status).toBe(404);

    const agencyUser = t.client();
    await agencyUser.login(f.rpaA);
    expect((await agencyUser.get("/fondo/posta")).status).toBe(404);
    expect((await agencyUser.request(`/fondo/posta/${files[0]}`)).status).toBe(404);
  });
});
