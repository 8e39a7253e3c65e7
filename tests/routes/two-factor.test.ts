import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { checkSecondFactor, currentCode, resetSecondFactor } from "../../src/services/two-factor.ts";
import { signedIn, tables } from "../helpers/flows.ts";
import { createTestApp, fixtures, TEST_TOTP_SECRET, type TestApp, type TestClient } from "../helpers/test-app.ts";

setDefaultTimeout(30_000);

const t = await createTestApp();
afterAll(() => t.close());
const f = fixtures(t.db);
const { one, all } = tables(t);
const STEP_MS = 30_000;

/** Past the password of `email`, at the second step. */
async function atSecondStep(app: TestApp, email: string, address?: string): Promise<TestClient> {
  const client = app.client(address);
  await client.get("/login");
  const answer = await client.post("/login", { email, password: "demo1234" });
  expect(answer.headers.get("Location")).toBe("/login/codice");
  await client.get("/login/codice");
  return client;
}

const code = (offsetSteps = 0) => currentCode(TEST_TOTP_SECRET, new Date(t.clock.now().getTime() + offsetSteps * STEP_MS));
const audits = (action: string) => all<{ user_id: number | null; detail: string | null }>("SELECT user_id, detail FROM audit_log WHERE action = ? ORDER BY id", action);
const fundId = () => one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.fund).id;

/** Enrols `client`'s user from the Profilo page; the secret and the recovery codes shown. */
async function enrol(client: TestClient): Promise<{ secret: string; recovery: string[] }> {
  await client.get("/profilo");
  const page = await (await client.post("/profilo/due-passaggi", {})).text();
  expect(page).toContain("<svg");
  const secret = page.match(/<code class="mono">([A-Z2-7 ]+)<\/code>/)![1]!.replaceAll(" ", "");
  const answer = await client.post("/profilo/due-passaggi/conferma", { codice: currentCode(secret, t.clock.now()) });
  expect(answer.status).toBe(200);
  const html = await answer.text();
  const recovery = [...html.matchAll(/<li>([2-9A-Z]{5}-[2-9A-Z]{5})<\/li>/g)].map((m) => m[1]!);
  expect(recovery).toHaveLength(10);
  return { secret, recovery };
}

describe("the second step of signing in", () => {
  test("the password alone opens nothing but the second step", async () => {
    t.clock.advance(STEP_MS);
    const client = await atSecondStep(t, f.fund);
    const page = await client.request("/fondo");
    expect(page.status).toBe(303);
    expect(page.headers.get("Location")).toBe("/login/codice");
    const htmx = await client.request("/fondo", { headers: { "HX-Request": "true" } });
    expect(htmx.headers.get("HX-Redirect")).toBe("/login/codice");
    expect(audits("login_password_ok").at(-1)?.user_id).toBe(fundId());
  });

  test("a wrong code is refused with a sentence and audited; the right one signs in", async () => {
    t.clock.advance(STEP_MS);
    const client = await atSecondStep(t, f.fund);
    const before = audits("second_factor_failed").length;
    const wrong = await client.post("/login/codice", { codice: code() === "000000" ? "111111" : "000000" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Il codice non è corretto o è già stato usato");
    expect(audits("second_factor_failed").length).toBe(before + 1);
    const right = await client.post("/login/codice", { codice: code() });
    expect(right.status).toBe(303);
    expect((await client.request("/fondo")).status).toBe(200);
    expect(JSON.parse(audits("login").at(-1)!.detail!)).toEqual({ secondFactor: "totp" });
  });

  test("a code used once is refused the second time, within its window", async () => {
    t.clock.advance(STEP_MS);
    const used = code();
    const first = await atSecondStep(t, f.fund);
    expect((await first.post("/login/codice", { codice: used })).status).toBe(303);
    const second = await atSecondStep(t, f.fund, "192.0.2.7");
    const replay = await second.post("/login/codice", { codice: used });
    expect(replay.status).toBe(401);
    // An older code of the window, after a newer one was used, is refused too.
    const older = await second.post("/login/codice", { codice: code(-1) });
    expect(older.status).toBe(401);
    t.clock.advance(STEP_MS);
    expect((await second.post("/login/codice", { codice: code() })).status).toBe(303);
  });

  test("an expired code (two steps old) is refused", async () => {
    t.clock.advance(5 * STEP_MS);
    const client = await atSecondStep(t, f.fund);
    expect((await client.post("/login/codice", { codice: code(-2) })).status).toBe(401);
    expect((await client.post("/login/codice", { codice: code(-1) })).status).toBe(303);
  });

  test("the second step must follow the password within five minutes", async () => {
    t.clock.advance(STEP_MS);
    const client = await atSecondStep(t, f.fund);
    t.clock.advance(5 * 60_000 + 1000);
    const late = await client.post("/login/codice", { codice: code() });
    expect(late.status).toBe(403);
    expect(await late.text()).toContain("La pagina è scaduta");
    expect((await client.request("/login/codice")).headers.get("Location")).toBe("/login");
    expect((await client.request("/fondo")).headers.get("Location")).toStartWith("/login");
  });

  test("after five wrong codes it is throttled like the password: 429, Retry-After, even the right code waits", async () => {
    t.clock.advance(STEP_MS);
    const client = await atSecondStep(t, f.fund, "192.0.2.50");
    const wrong = code() === "123456" ? "654321" : "123456";
    for (let i = 0; i < 5; i++) expect((await client.post("/login/codice", { codice: wrong })).status).toBe(401);
    const stopped = await client.post("/login/codice", { codice: code() });
    expect(stopped.status).toBe(429);
    expect(Number(stopped.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await stopped.text()).toContain("Troppi codici non corretti. Riprova tra");
    t.clock.advance(60_000);
    const later = await atSecondStep(t, f.fund, "192.0.2.50");
    expect((await later.post("/login/codice", { codice: code() })).status).toBe(303);
  });
});

describe("the second step's throttle", () => {
  test("counts per user, whatever the address: a new address for each guess is stopped as well", async () => {
    t.clock.advance(30 * 60_000);
    const wrong = code() === "123456" ? "654321" : "123456";
    for (let i = 0; i < 5; i++) {
      const client = await atSecondStep(t, f.fund, `198.51.100.${i + 1}`);
      expect((await client.post("/login/codice", { codice: wrong })).status).toBe(401);
    }
    const fresh = await atSecondStep(t, f.fund, "198.51.100.99");
    expect((await fresh.post("/login/codice", { codice: code() })).status).toBe(429);
    t.clock.advance(60_000);
  });

  test("after thirty wrong codes in a day it stays shut, even to the right code, until the fund resets it", () => {
    const user = one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.operatorA).id;
    t.db.$client.run("UPDATE users SET totp_secret = ? WHERE id = ?", [TEST_TOTP_SECRET, user]);
    const wrong = () => (code() === "123456" ? "654321" : "123456");
    for (let i = 0; i < 30; i++) {
      expect(checkSecondFactor(t.db, t.clock, user, wrong(), `203.0.113.${i}`)).toMatchObject({ ok: false, throttled: false });
      t.clock.advance(16 * 60_000);
    }
    const shut = checkSecondFactor(t.db, t.clock, user, code(), "203.0.113.200");
    expect(shut).toMatchObject({ ok: false, throttled: true });
    expect(shut.ok ? "" : shut.error).toContain("bloccata per un giorno");
    resetSecondFactor(t.db, user);
    t.db.$client.run("UPDATE users SET totp_secret = ? WHERE id = ?", [TEST_TOTP_SECRET, user]);
    expect(checkSecondFactor(t.db, t.clock, user, code(), "203.0.113.201")).toEqual({ ok: true });
    t.db.$client.run("UPDATE users SET totp_secret = NULL, totp_last_step = NULL WHERE id = ?", [user]);
  });
});

describe("enrolment and recovery codes", () => {
  test("an enrolment belongs to its session: another session of the user neither sees nor replaces its key", async () => {
    const mine = await signedIn(t, f.operatorA, { page: "/profilo", address: "192.0.2.30" });
    const other = await signedIn(t, f.operatorA, { page: "/profilo", address: "192.0.2.31" });
    const page = await (await mine.post("/profilo/due-passaggi", {})).text();
    const secret = page.match(/<code class="mono">([A-Z2-7 ]+)<\/code>/)![1]!.replaceAll(" ", "");
    const peek = await other.post("/profilo/due-passaggi/conferma", { codice: "000001" });
    const peeked = await peek.text();
    expect(peeked).toContain("Questa attivazione è scaduta");
    expect(peeked).not.toContain(secret.slice(0, 4) + " ");
    await other.post("/profilo/due-passaggi", {});
    expect((await mine.post("/profilo/due-passaggi/conferma", { codice: currentCode(secret, t.clock.now()) })).status).toBe(200);
    expect(one<{ totp_secret: string }>("SELECT totp_secret FROM users WHERE email = ?", f.operatorA).totp_secret).toBe(secret);
    resetSecondFactor(t.db, one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.operatorA).id);
  });

  test("the pages with the key and the codes are never cached", async () => {
    const client = await signedIn(t, f.operatorA, { page: null, address: "192.0.2.32" });
    expect((await client.request("/profilo")).headers.get("Cache-Control")).toBe("private, no-store");
    t.clock.advance(STEP_MS);
    const pending = await atSecondStep(t, f.fund, "192.0.2.33");
    expect((await pending.request("/login/codice")).headers.get("Cache-Control")).toBe("private, no-store");
  });

  let recovery: string[] = [];

  test("a wrong code at enrolment shows the QR code again with the message; nothing is turned on", async () => {
    const client = await signedIn(t, f.referentA, { page: "/profilo" });
    await client.post("/profilo/due-passaggi", {});
    const wrong = await client.post("/profilo/due-passaggi/conferma", { codice: "12" });
    expect(wrong.status).toBe(422);
    const html = await wrong.text();
    expect(html).toContain("Il codice non è corretto: scrivi le sei cifre");
    expect(html).toContain("<svg");
    expect(one<{ totp_secret: string | null }>("SELECT totp_secret FROM users WHERE email = ?", f.referentA).totp_secret).toBeNull();
  });

  test("confirmed with a code: on, ten recovery codes shown once and stored hashed, other sessions end", async () => {
    const other = await signedIn(t, f.referentA, { page: null, address: "192.0.2.9" });
    const client = await signedIn(t, f.referentA, { page: "/profilo" });
    ({ recovery } = await enrol(client));
    const user = one<{ id: number; totp_secret: string | null }>("SELECT id, totp_secret FROM users WHERE email = ?", f.referentA);
    expect(user.totp_secret).not.toBeNull();
    const stored = all<{ code_hash: string }>("SELECT code_hash FROM recovery_codes WHERE user_id = ?", user.id);
    expect(stored).toHaveLength(10);
    for (const s of stored) expect(s.code_hash).toMatch(/^[0-9a-f]{64}$/);
    for (const r of recovery) expect(stored.some((s) => s.code_hash.includes(r) || s.code_hash.includes(r.replace("-", "")))).toBe(false);
    expect((await other.request("/progetti")).status).toBe(303);
    expect((await client.request("/progetti")).status).toBe(200);
    expect(await (await client.get("/profilo")).text()).not.toContain(recovery[0]!);
    expect(audits("two_factor_enrol").at(-1)?.user_id).toBe(user.id);
  });

  test("a recovery code signs in once, typed in any case; the second time it is refused", async () => {
    t.clock.advance(STEP_MS);
    const first = await atSecondStep(t, f.referentA);
    expect((await first.post("/login/codice", { codice: ` ${recovery[0]!.toLowerCase()} ` })).status).toBe(303);
    expect(JSON.parse(audits("login").at(-1)!.detail!)).toEqual({ secondFactor: "recovery_code" });
    expect(await (await first.get("/profilo")).text()).toContain("Codici di recupero ancora validi: <strong>9</strong>");
    const again = await atSecondStep(t, f.referentA, "192.0.2.11");
    const refused = await again.post("/login/codice", { codice: recovery[0]! });
    expect(refused.status).toBe(401);
  });

  test("new recovery codes, asked with a code, replace the old ones", async () => {
    t.clock.advance(STEP_MS);
    const client = await atSecondStep(t, f.referentA, "192.0.2.13");
    expect((await client.post("/login/codice", { codice: recovery[3]! })).status).toBe(303);
    await client.get("/profilo");
    expect((await client.post("/profilo/due-passaggi/codici", { codice: "000000" })).status).toBe(422);
    const answer = await client.post("/profilo/due-passaggi/codici", { codice: recovery[4]! });
    const fresh = [...(await answer.text()).matchAll(/<li>([2-9A-Z]{5}-[2-9A-Z]{5})<\/li>/g)].map((m) => m[1]!);
    expect(fresh).toHaveLength(10);
    t.clock.advance(STEP_MS);
    const old = await atSecondStep(t, f.referentA, "192.0.2.14");
    expect((await old.post("/login/codice", { codice: recovery[5]! })).status).toBe(401);
    expect((await old.post("/login/codice", { codice: fresh[0]! })).status).toBe(303);
    recovery = fresh;
  });

  test("where it is not required the user may turn it off with a code", async () => {
    t.clock.advance(STEP_MS);
    const client = await atSecondStep(t, f.referentA, "192.0.2.12");
    expect((await client.post("/login/codice", { codice: recovery[1]! })).status).toBe(303);
    await client.get("/profilo");
    expect((await client.post("/profilo/due-passaggi/disattiva", { codice: "000000" })).status).toBe(422);
    const off = await client.post("/profilo/due-passaggi/disattiva", { codice: recovery[2]! });
    expect(off.status).toBe(200);
    expect(await off.text()).toContain("Verifica in due passaggi disattivata.");
    expect(one<{ n: number }>("SELECT count(*) AS n FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.email = ?", f.referentA).n).toBe(0);
    expect((await client.request("/progetti")).status).toBe(200);
  });
});

describe("required by the fund", () => {
  test("switched on for an agency while its user is signed in: the next request asks to enrol; then pages open", async () => {
    const clerk = await signedIn(t, f.rpaB, { page: null });
    expect((await clerk.request("/progetti")).status).toBe(200);
    const fund = await signedIn(t, f.fund, { page: `/amministrazione/agenzie/${f.agencyB.id}` });
    const agency = one<{ name: string }>("SELECT name FROM agencies WHERE id = ?", f.agencyB.id);
    expect((await fund.post(`/amministrazione/agenzie/${f.agencyB.id}`, { nome: agency.name, due_passaggi: "1" })).status).toBe(200);
    expect(JSON.parse(all<{ detail: string }>("SELECT detail FROM audit_log WHERE action = 'agency_update'").at(-1)!.detail)).toMatchObject({ twoFactorRequired: true });

    const asked = await clerk.request("/progetti");
    expect(asked.headers.get("Location")).toBe("/profilo");
    const page = await (await clerk.get("/profilo")).text();
    expect(page).toContain("La verifica in due passaggi è obbligatoria per la tua utenza");
    await enrol(clerk);
    expect((await clerk.request("/progetti")).status).toBe(200);
    // Required: it cannot be turned off.
    await clerk.get("/profilo");
    const off = await clerk.post("/profilo/due-passaggi/disattiva", { codice: "000000" });
    expect(off.status).toBe(422);
    expect(await off.text()).toContain("è obbligatoria per la tua utenza e non si può disattivare");
  });

  test("the fund resets a user's second factor: sessions end, audited, the user enrols again", async () => {
    t.clock.advance(STEP_MS);
    const user = one<{ id: number; totp_secret: string }>("SELECT id, totp_secret FROM users WHERE email = ?", f.rpaB);
    const signed = await atSecondStep(t, f.rpaB, "192.0.2.21");
    expect((await signed.post("/login/codice", { codice: currentCode(user.totp_secret, t.clock.now()) })).status).toBe(303);
    expect((await signed.request("/progetti")).status).toBe(200);
    const fund = await signedIn(t, f.fund, { page: `/amministrazione/agenzie/${f.agencyB.id}` });
    const listed = await (await fund.get(`/amministrazione/agenzie/${f.agencyB.id}`)).text();
    expect(listed).toContain(`/amministrazione/utenti/${user.id}/due-passaggi`);
    const reset = await fund.post(`/amministrazione/utenti/${user.id}/due-passaggi`, {});
    expect(await reset.text()).toContain(`Verifica in due passaggi di ${f.rpaB} azzerata`);
    expect(one<{ totp_secret: string | null }>("SELECT totp_secret FROM users WHERE id = ?", user.id).totp_secret).toBeNull();
    expect((await signed.request("/progetti")).headers.get("Location")).toStartWith("/login");
    expect(audits("two_factor_reset").at(-1)?.user_id).toBe(fundId());
    // Still required for the agency: the next sign-in leads to enrolment.
    const again = await signedIn(t, f.rpaB, { page: null, address: "192.0.2.22" });
    expect((await again.request("/progetti")).headers.get("Location")).toBe("/profilo");
  });

  test("a fund operator without a second factor must enrol outside demo mode, not in it", async () => {
    t.db.$client.run("UPDATE users SET totp_secret = NULL WHERE email = ?", [f.fund]);
    try {
      const fund = await signedIn(t, f.fund, { page: null });
      expect((await fund.request("/fondo")).headers.get("Location")).toBe("/profilo");
      const demo = await createTestApp({ env: { DEMO: "1" }, enrollments: 20 });
      try {
        demo.db.$client.run("UPDATE users SET totp_secret = NULL WHERE role = 'fund_operator'");
        const operator = await signedIn(demo, fixtures(demo.db).fund, { page: null });
        expect((await operator.request("/fondo")).status).toBe(200);
      } finally {
        demo.close();
      }
    } finally {
      t.db.$client.run("UPDATE users SET totp_secret = ? WHERE email = ?", [TEST_TOTP_SECRET, f.fund]);
    }
  });

  test("an agency user cannot reset anyone's second factor", async () => {
    const rpa = await signedIn(t, f.rpaA, { page: "/utenti" });
    const target = one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.referentA).id;
    const answer = await rpa.post(`/amministrazione/utenti/${target}/due-passaggi`, {});
    expect(answer.status).toBe(404);
    expect(await (await rpa.get("/utenti")).text()).not.toContain("/due-passaggi");
  });
});
