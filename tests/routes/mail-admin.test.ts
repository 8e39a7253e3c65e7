import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { dataPaths } from "../../src/config.ts";
import { silentLogger } from "../../src/log.ts";
import { queueMail, sendPendingMail } from "../../src/mail/outbox.ts";
import { smtpTransport, type MailTransport } from "../../src/mail/transport.ts";
import { signedIn } from "../helpers/flows.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import { unusedPort } from "../helpers/ports.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// Sign-ins verify argon2id hashes, on purpose slow: on a busy machine a test takes seconds.
setDefaultTimeout(30_000);

let sink: Awaited<ReturnType<typeof startSmtpSink>>;

beforeAll(async () => {
  sink = await startSmtpSink();
});
afterAll(() => sink.close());

describe("the fund's mail page", () => {
  test("the test button sends through the real SMTP server and lists the message", async () => {
    const t = await createTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${sink.port}` } });
    try {
      const client = await signedIn(t, fixtures(t.db).fund, { page: "/fondo/posta" });
      const invalid = await client.post("/fondo/posta/prova", { indirizzo: "non valido" });
      expect(invalid.status).toBe(422);
      expect(await invalid.text()).toContain("Scrivi un indirizzo e-mail valido.");
      const response = await client.post("/fondo/posta/prova", { indirizzo: "sistemi@fondo.example" });
      expect(response.status).toBe(200);
      expect(await response.text()).toContain("Messaggio di prova inviato a sistemi@fondo.example.");
      expect(sink.messages.map((m) => m.to)).toContainEqual(["sistemi@fondo.example"]);
      expect(sink.messages.at(-1)!.raw).toContain("Subject: Placement: messaggio di prova");
      expect(t.db.$client.query("SELECT status FROM mail_outbox").all()).toEqual([{ status: "sent" }]);
    } finally {
      t.close();
    }
  });

  test("a failure is shown with its cause, and a failed message can be sent again", async () => {
    const t = await createTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${unusedPort()}` } });
    try {
      const client = await signedIn(t, fixtures(t.db).fund, { page: "/fondo/posta" });
      const response = await client.post("/fondo/posta/prova", { indirizzo: "sistemi@fondo.example" });
      expect(response.status).toBe(422);
      expect(await response.text()).toContain("Invio non riuscito");
      const failed = t.db.$client.query("SELECT id, status FROM mail_outbox").get() as { id: number; status: string };
      expect(failed.status).toBe("failed");
      const page = await (await client.get("/fondo/posta")).text();
      expect(page).toContain(`/fondo/posta/${failed.id}/rinvia`);
      expect((await client.post(`/fondo/posta/${failed.id}/rinvia`, {})).status).toBe(303);
      expect(t.db.$client.query("SELECT status, attempts FROM mail_outbox").get()).toEqual({ status: "pending", attempts: 0 });
      expect((await client.post(`/fondo/posta/${failed.id}/rinvia`, {})).status).toBe(404);
    } finally {
      t.close();
    }
  });

  test.each([
    ["SMTP", ""],
    ["LMTP", "/?lmtp=true"],
  ])("a message that an %s server refuses for every recipient is recorded as failed, not sent", async (_, query) => {
    const refusing = await startSmtpSink({ refuses: (address) => address.startsWith("pieno"), lmtp: query !== "" });
    const t = await createTestApp({ dataset: false, env: { SMTP_URL: `smtp://127.0.0.1:${refusing.port}${query}` } });
    try {
      queueMail(t.db, t.clock, { to: ["pieno@agenzia.example"], subject: "Prova", text: "Prova" });
      const round = await sendPendingMail(t.db, t.clock, t.deps.mail, t.deps.config.MAIL_FROM, silentLogger);
      expect(round).toEqual({ sent: 0, failed: 1 });
      const row = t.db.$client.query("SELECT status, sent_at, last_error FROM mail_outbox").get() as Record<string, unknown>;
      expect(row.status).toBe("pending");
      expect(row.sent_at).toBeNull();
      expect(String(row.last_error)).toMatch(/rejected|rifiutato/);
      expect(refusing.messages).toEqual([]);
    } finally {
      t.close();
      await refusing.close();
    }
  });

  test("agency users and anonymous visitors do not reach it", async () => {
    const t = await createTestApp();
    try {
      const agency = await signedIn(t, fixtures(t.db).rpaA, { page: "/progetti" });
      expect((await agency.get("/fondo/posta")).status).toBe(404);
      expect((await agency.post("/fondo/posta/prova", { indirizzo: "x@example.org" })).status).toBe(404);
      const anonymous = t.client();
      expect((await anonymous.get("/fondo/posta")).status).toBe(303);
    } finally {
      t.close();
    }
  });
});

describe("the outbox", () => {
  const LEASE_PASSED_MS = 11 * 60_000;
  const deliveredTo = (address: string) => sink.messages.filter((m) => m.to.includes(address)).length;
  const round = (t: TestApp, transport: MailTransport = t.deps.mail) =>
    sendPendingMail(t.db, t.clock, transport, t.deps.config.MAIL_FROM, silentLogger);
  const withApp = async (body: (t: TestApp) => Promise<void>, dataset = false) => {
    const t = await createTestApp({ dataset, env: { SMTP_URL: `smtp://127.0.0.1:${sink.port}` } });
    try {
      await body(t);
    } finally {
      t.close();
    }
  };

  test("delivers a message exactly once, however many rounds follow", () =>
    withApp(async (t) => {
      queueMail(t.db, t.clock, { to: ["una.volta@agenzia.example"], subject: "Una volta", text: "Una volta" });
      expect(await round(t)).toEqual({ sent: 1, failed: 0 });
      for (let i = 0; i < 3; i++) {
        t.clock.advance(LEASE_PASSED_MS);
        expect(await round(t)).toEqual({ sent: 0, failed: 0 });
      }
      expect(deliveredTo("una.volta@agenzia.example")).toBe(1);
      expect(t.db.$client.query("SELECT status, attempts FROM mail_outbox").get()).toEqual({ status: "sent", attempts: 1 });
    }));

  test("a round while a job holds the write lock sends once the lock is free, without holding the server's thread", () =>
    withApp(async (t) => {
      queueMail(t.db, t.clock, { to: ["mentre.scrive@agenzia.example"], subject: "Mentre scrive", text: "Mentre scrive" });
      const other = new Database(dataPaths(t.deps.config).database);
      try {
        other.exec("BEGIN IMMEDIATE");
        let settled = false;
        const sending = round(t).finally(() => (settled = true));
        // A claim that waited in SQLite's busy handler would hold this thread, and so the lock, for its 5 s timeout.
        await Bun.sleep(100);
        expect(settled).toBe(false);
        expect(deliveredTo("mentre.scrive@agenzia.example")).toBe(0);
        other.exec("COMMIT");
        expect(await sending).toEqual({ sent: 1, failed: 0 });
      } finally {
        if (other.inTransaction) other.exec("ROLLBACK");
        other.close();
      }
      expect(deliveredTo("mentre.scrive@agenzia.example")).toBe(1);
      expect(t.db.$client.query("SELECT status FROM mail_outbox").get()).toEqual({ status: "sent" });
    }));

  test("a round lets the server's other work run between two messages", () =>
    withApp(async (t) => {
      for (let i = 0; i < 3; i++) queueMail(t.db, t.clock, { to: [`turno${i}@agenzia.example`], subject: "Turno", text: "Turno" });
      // A transport that answers at once: without a pause of its own, the round would never give way.
      let sent = 0;
      const instant: MailTransport = { kind: "files", send: async () => void sent++ };
      let sentWhenOtherWorkRan = -1;
      setImmediate(() => (sentWhenOtherWorkRan = sent));
      expect(await round(t, instant)).toEqual({ sent: 3, failed: 0 });
      expect(sentWhenOtherWorkRan).toBeGreaterThanOrEqual(0);
      expect(sentWhenOtherWorkRan).toBeLessThan(3);
    }));

  test("sends nothing while the outbox cannot be written, then sends once", () =>
    withApp(async (t) => {
      queueMail(t.db, t.clock, { to: ["disco.pieno@agenzia.example"], subject: "Disco pieno", text: "Disco pieno" });
      t.db.$client.exec("PRAGMA query_only = 1");
      for (let i = 0; i < 5; i++) {
        expect(await round(t)).toEqual({ sent: 0, failed: 0 });
        t.clock.advance(LEASE_PASSED_MS);
      }
      expect(deliveredTo("disco.pieno@agenzia.example")).toBe(0);
      t.db.$client.exec("PRAGMA query_only = 0");
      expect(await round(t)).toEqual({ sent: 1, failed: 0 });
      t.clock.advance(LEASE_PASSED_MS);
      expect(await round(t)).toEqual({ sent: 0, failed: 0 });
      expect(deliveredTo("disco.pieno@agenzia.example")).toBe(1);
    }));

  test("a round that stops between sending and recording sends the message once more, not again and again", () =>
    withApp(async (t) => {
      queueMail(t.db, t.clock, { to: ["interrotto@agenzia.example"], subject: "Interrotto", text: "Interrotto" });
      const smtp = smtpTransport(t.deps.config.SMTP_URL);
      // The message leaves, then the database refuses every write, as when the disk fills.
      const thenStuck: MailTransport = {
        kind: "smtp",
        async send(message) {
          await smtp.send(message);
          t.db.$client.exec("PRAGMA query_only = 1");
        },
      };
      await round(t, thenStuck);
      t.db.$client.exec("PRAGMA query_only = 0");
      expect(deliveredTo("interrotto@agenzia.example")).toBe(1);

      const fund = t.client();
      await fund.login(fixtures(t.db).fund);
      expect(await (await fund.get("/fondo/posta")).text()).toContain("in invio");

      expect(await round(t)).toEqual({ sent: 0, failed: 0 });
      t.clock.advance(LEASE_PASSED_MS);
      expect(await round(t)).toEqual({ sent: 1, failed: 0 });
      for (let i = 0; i < 3; i++) {
        t.clock.advance(LEASE_PASSED_MS);
        await round(t);
      }
      expect(deliveredTo("interrotto@agenzia.example")).toBe(2);
      expect(t.db.$client.query("SELECT status FROM mail_outbox").get()).toEqual({ status: "sent" });
    }, true));
});
