import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { dataPaths } from "../../src/config.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// Each sign-in verifies an argon2id hash, on purpose slow: a test of many sign-ins takes seconds.
setDefaultTimeout(30_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;

beforeAll(async () => {
  t = await createTestApp();
  f = fixtures(t.db);
});
afterAll(() => t.close());

describe("sign-in", () => {
  test("a demo rpa signs in, lands on the projects page and signs out", async () => {
    const client = t.client();
    const response = await client.login(f.rpaA);
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/");
    const home = await client.get("/progetti");
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("Progetti portati in compensazione nel 2019");

    const out = await client.post("/logout", {});
    expect(out.status).toBe(303);
    const after = await client.get("/progetti");
    expect(after.status).toBe(303);
    expect(after.headers.get("Location")).toStartWith("/login");
  });

  test("an unknown e-mail and a wrong password get the same answer", async () => {
    const unknown = t.client("198.51.100.1");
    await unknown.get("/login");
    const r1 = await unknown.post("/login", { email: "nessuno@example.org", password: "demo1234" });
    const wrong = t.client("198.51.100.2");
    await wrong.get("/login");
    const r2 = await wrong.post("/login", { email: f.referentA, password: "sbagliata" });
    expect(r1.status).toBe(401);
    expect(r2.status).toBe(401);
    const message = (html: string) => html.match(/role="alert">([^<]+)</)?.[1];
    const [m1, m2] = [message(await r1.text()), message(await r2.text())];
    expect(m1).toBe("E-mail o password non corrette. Controlla i dati e riprova.");
    expect(m2).toBe(m1!);
    expect(unknown.cookies.has("placement_session")).toBe(false);
  });

  test("a disabled user cannot sign in, and loses an open session", async () => {
    const client = t.client("198.51.100.3");
    await client.login(f.operatorA);
    expect((await client.get("/progetti")).status).toBe(200);
    t.db.$client.query("UPDATE users SET disabled = 1 WHERE email = ?").run(f.operatorA);
    try {
      expect((await client.get("/progetti")).status).toBe(303);
      const again = await client.login(f.operatorA);
      expect(again.status).toBe(401);
      expect(await again.text()).toContain("La tua utenza è disabilitata");
    } finally {
      t.db.$client.query("UPDATE users SET disabled = 0 WHERE email = ?").run(f.operatorA);
    }
  });

  const whileAgencyDisabled = async (agencyId: number, body: () => Promise<void>) => {
    t.db.$client.query("UPDATE agencies SET disabled = 1 WHERE id = ?").run(agencyId);
    try {
      await body();
    } finally {
      t.db.$client.query("UPDATE agencies SET disabled = 0 WHERE id = ?").run(agencyId);
    }
  };

  test("a disabled agency's users cannot sign in; other agencies' users can", async () => {
    await whileAgencyDisabled(f.agencyB.id, async () => {
      const refused = await t.client("198.51.100.10").login(f.rpaB);
      expect(refused.status).toBe(401);
      expect(await refused.text()).toContain("La tua agenzia è disabilitata in Placement. Rivolgiti al Fondo per farla riattivare.");
      expect((await t.client("198.51.100.11").login(f.rpaA)).status).toBe(303);
    });
    expect((await t.client("198.51.100.12").login(f.rpaB)).status).toBe(303);
  });

  test("a disabled agency's users lose their open sessions at once", async () => {
    const open = t.client("198.51.100.9");
    await open.login(f.rpaB);
    expect((await open.get("/progetti")).status).toBe(200);
    await whileAgencyDisabled(f.agencyB.id, async () => {
      expect((await open.get("/progetti")).status).toBe(303);
    });
    expect((await open.get("/progetti")).status).toBe(303);
  });

  test("sign-in issues a new session id each time", async () => {
    const client = t.client("198.51.100.4");
    await client.login(f.rpaA);
    const first = client.cookies.get("placement_session");
    await client.post("/logout", {});
    // A planted cookie (session fixation) is never promoted to a session.
    client.cookies.set("placement_session", "planted-by-someone-else");
    await client.login(f.rpaA);
    const second = client.cookies.get("placement_session");
    expect(second).not.toBe("planted-by-someone-else");
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(second).not.toBe(first!);
    const stored = t.db.$client.query("SELECT id_hash FROM sessions").all() as { id_hash: string }[];
    expect(stored.map((s) => s.id_hash)).not.toContain(second!);
  });

  test("the session cookie is httpOnly and SameSite=Lax, and not Secure over http", async () => {
    const client = t.client("198.51.100.5");
    await client.get("/login");
    const response = await client.post("/login", { email: f.rpaA, password: "demo1234" });
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith("placement_session="))!;
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain("Path=/");
    expect(cookie).not.toContain("Secure");
  });

  test("with an https BASE_URL the cookie is __Host- prefixed and Secure", async () => {
    const secure = await createTestApp({ env: { BASE_URL: "https://placement.example.org" } });
    try {
      const client = secure.client();
      await client.get("/login");
      const response = await client.post("/login", { email: fixtures(secure.db).rpaA, password: "demo1234" });
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith("__Host-placement_session="));
      expect(cookie).toBeDefined();
      expect(cookie).toContain("Secure");
      expect(cookie).toContain("HttpOnly");
      expect(cookie).not.toContain("Domain=");
    } finally {
      secure.close();
    }
  });

  test("idle and absolute timeouts end the session on the server", async () => {
    const client = t.client("198.51.100.6");
    await client.login(f.rpaA);
    t.clock.advance(31 * 60_000);
    expect((await client.get("/progetti")).status).toBe(303);

    await client.login(f.rpaA);
    for (let elapsed = 25; elapsed < 12 * 60; elapsed += 25) {
      t.clock.advance(25 * 60_000);
      expect((await client.get("/progetti")).status).toBe(200);
    }
    t.clock.advance(25 * 60_000);
    expect((await client.get("/progetti")).status).toBe(303);
  });

  test("a page opened while a job holds the write lock answers at once; its session is touched once the lock is free", async () => {
    const client = t.client("198.51.100.8");
    await client.login(f.rpaA);
    const lastSeen = () =>
      t.db.$client.query("SELECT max(s.last_seen_at) AS at FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?").get(f.rpaA) as { at: number };
    const before = lastSeen().at;
    t.clock.advance(2 * 60_000);
    const other = new Database(dataPaths(t.deps.config).database);
    try {
      other.exec("BEGIN IMMEDIATE");
      // A touch that waited for the lock would hold this thread, and so the lock, for 5 s and fail the page.
      expect((await client.get("/progetti")).status).toBe(200);
      expect(lastSeen().at).toBe(before);
      other.exec("COMMIT");
    } finally {
      if (other.inTransaction) other.exec("ROLLBACK");
      other.close();
    }
    for (let i = 0; i < 100 && lastSeen().at === before; i++) await Bun.sleep(10);
    expect(lastSeen().at).toBe(t.clock.now().getTime());
  });

  const hostileNext = [
    "//evil.example",
    "/\t/evil.example/x",
    "/\\evil.example",
    "/\\/evil.example",
    "/.//evil.example",
    "/..//evil.example",
    "/a/..//evil.example",
    "/%2e//evil.example",
    "/%2e%2e//evil.example",
    "/.\\/evil.example",
    "/progetti/..//evil.example",
    "/%5cevil.example",
    "/login",
    "/static/app.js",
    "/progettiX",
    "https://evil.example/",
    "javascript:alert(1)",
  ];
  test.each(hostileNext)("the sign-in page does not redirect to %p", async (next) => {
    const client = t.client("198.51.100.7");
    await client.get("/login");
    const response = await client.post("/login", { email: f.rpaA, password: "demo1234", next });
    const location = response.headers.get("Location")!;
    expect(location).not.toStartWith("//");
    expect(new URL(location, "https://placement.example.org").origin).toBe("https://placement.example.org");
    expect(location).toBe("/");
  });

  test.each(["/placement/riepilogo?x=1", "/progetti/12?anno=2019&tipo=A", "/fondo", "/profilo/password", "/amministrazione/agenzie", "/?a=b"])(
    "the sign-in page returns to %p",
    async (next) => {
      const client = t.client("198.51.100.8");
      await client.get("/login");
      const response = await client.post("/login", { email: f.rpaA, password: "demo1234", next });
      expect(response.headers.get("Location")).toBe(next);
    },
  );
});

describe("throttling", () => {
  test("repeated failures for one account slow it down, briefly", async () => {
    const victim = f.referentA;
    for (let i = 0; i < 5; i++) {
      const client = t.client(`203.0.113.${i + 10}`);
      await client.get("/login");
      expect((await client.post("/login", { email: victim, password: "x" })).status).toBe(401);
    }
    const client = t.client("203.0.113.99");
    await client.get("/login");
    const throttled = await client.post("/login", { email: victim, password: "demo1234" });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("Retry-After")).toBe("1");
    expect(await throttled.text()).toContain("Troppi tentativi");

    // The wait per account is capped: a stranger cannot keep the user out for long.
    for (let i = 0; i < 20; i++) {
      t.clock.advance(61_000);
      const stranger = t.client(`203.0.113.${100 + i}`);
      await stranger.get("/login");
      await stranger.post("/login", { email: victim, password: "x" });
    }
    t.clock.advance(61_000);
    const owner = t.client("203.0.113.250");
    expect((await owner.login(victim)).status).toBe(303);
  });

  test("an unknown account is throttled exactly like a known one", async () => {
    const answers: number[] = [];
    for (const email of ["ghost@example.org", f.rpaB]) {
      for (let i = 0; i < 6; i++) {
        const client = t.client(`203.0.114.${i}${email.length}`);
        await client.get("/login");
        answers.push((await client.post("/login", { email, password: "x" })).status);
      }
    }
    expect(answers).toEqual([401, 401, 401, 401, 401, 429, 401, 401, 401, 401, 401, 429]);
    t.clock.advance(16 * 60_000);
  });

  test("one address trying many accounts is throttled", async () => {
    const client = t.client("203.0.115.1");
    await client.get("/login");
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await client.post("/login", { email: `user${i}@example.org`, password: "x" })).status);
    }
    expect(statuses.at(-1)).toBe(429);
    t.clock.advance(16 * 60_000);
  });

  test("the wait is written in the singular for one second, in the plural otherwise", async () => {
    const client = t.client("203.0.115.2");
    await client.get("/login");
    const attempt = (i: number) => client.post("/login", { email: `wait${i}@example.org`, password: "x" });
    const alertOf = async (response: Response) => (await response.text()).match(/role="alert">([^<]+)</)?.[1];
    for (let i = 0; i < 5; i++) expect((await attempt(i)).status).toBe(401);
    expect(await alertOf(await attempt(5))).toBe("Troppi tentativi di accesso non riusciti. Riprova tra 1 secondo.");
    t.clock.advance(1_001);
    expect((await attempt(6)).status).toBe(401);
    expect(await alertOf(await attempt(7))).toBe("Troppi tentativi di accesso non riusciti. Riprova tra 2 secondi.");
    t.clock.advance(16 * 60_000);
  });
});

describe("CSRF", () => {
  test("a POST without a valid token is refused and changes nothing", async () => {
    const client = t.client("198.51.100.20");
    await client.login(f.rpaA);
    const sessionsBefore = t.db.$client.query("SELECT count(*) AS n FROM sessions").get();
    const forged = await client.post("/logout", { _csrf: "forged" });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain("Ricarica la pagina");
    const missing = await client.request("/logout", { method: "POST" });
    expect(missing.status).toBe(403);
    expect(t.db.$client.query("SELECT count(*) AS n FROM sessions").get()).toEqual(sessionsBefore);
    expect((await client.get("/progetti")).status).toBe(200);
  });

  test("the token is accepted from the X-CSRF-Token header that htmx sends", async () => {
    const client = t.client("198.51.100.21");
    await client.login(f.rpaA);
    const page = await (await client.get("/progetti")).text();
    const token = page.match(/X-CSRF-Token&quot;:&quot;([^&]+)&quot;/)?.[1];
    expect(token).toBe(client.csrfToken);
    const response = await client.request("/logout", { method: "POST", headers: { "X-CSRF-Token": token! } });
    expect(response.status).toBe(303);
  });

  test("the sign-in form needs its token too", async () => {
    const client = t.client("198.51.100.22");
    await client.get("/login");
    const response = await client.post("/login", { email: f.rpaA, password: "demo1234", _csrf: "" });
    expect(response.status).toBe(403);
    expect(client.cookies.has("placement_session")).toBe(false);
  });
});

describe("headers", () => {
  test("pages carry a CSP without unsafe-eval or inline scripts", async () => {
    const response = await t.client().get("/login");
    const csp = response.headers.get("Content-Security-Policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).not.toContain("unsafe-inline");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("X-Frame-Options")).toBe("DENY");
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).toStartWith("<!DOCTYPE html>");
  });

  test("GET requests never change state: /logout answers 404 to GET", async () => {
    const client = t.client("198.51.100.23");
    await client.login(f.rpaA);
    expect((await client.get("/logout")).status).toBe(404);
    expect((await client.get("/progetti")).status).toBe(200);
  });
});
