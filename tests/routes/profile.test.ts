import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { resetPassword } from "../../src/services/auth.ts";
import { signedIn } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// Sign-ins verify argon2id hashes, on purpose slow: on a busy machine a test takes seconds.
setDefaultTimeout(30_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;

beforeAll(async () => {
  t = await createTestApp();
  f = fixtures(t.db);
});
afterAll(() => t.close());

const change = (client: ReturnType<TestApp["client"]>, attuale: string, nuova: string, ripeti = nuova) =>
  client.post("/profilo/password", { attuale, nuova, ripeti });

describe("changing one's own password", () => {
  test("each mistake is named; then the new password works and the old one does not", async () => {
    const client = await signedIn(t, f.referentA, { address: "192.0.2.31", page: "/profilo/password" });
    const cases: [string, string, string, string][] = [
      ["sbagliata", "una-nuova-password", "una-nuova-password", "La password attuale non è corretta."],
      ["demo1234", "corta", "corta", "La nuova password deve avere almeno 10 caratteri."],
      ["demo1234", "una-nuova-password", "un-altra-password", "Le due password nuove non coincidono."],
    ];
    for (const [current, next, repeat, message] of cases) {
      const response = await change(client, current, next, repeat);
      expect(response.status).toBe(422);
      expect(await response.text()).toContain(message);
    }
    const done = await change(client, "demo1234", "una-nuova-password");
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("Password cambiata.");

    const again = t.client("192.0.2.32");
    expect((await again.login(f.referentA, "demo1234")).status).toBe(401);
    expect((await again.login(f.referentA, "una-nuova-password")).status).toBe(303);
  });

  test("ends the user's other sessions; this one goes on under a fresh session id", async () => {
    const here = t.client("192.0.2.35");
    const elsewhere = t.client("192.0.2.36");
    await here.login(f.rpaB);
    await elsewhere.login(f.rpaB);
    expect((await elsewhere.get("/progetti")).status).toBe(200);
    const before = here.cookies.get("placement_session");

    await here.get("/profilo/password");
    const done = await change(here, "demo1234", "cambiata-da-poco-2020");
    expect(done.status).toBe(200);
    const tokenOnPage = (await done.text()).match(/name="_csrf" value="([^"]+)"/)?.[1];

    const after = here.cookies.get("placement_session");
    expect(after).toBeDefined();
    expect(after).not.toBe(before!);
    expect((await here.get("/progetti")).status).toBe(200);
    expect((await elsewhere.get("/progetti")).status).toBe(303);
    const userId = t.db.$client.query("SELECT id FROM users WHERE email = ?").get(f.rpaB) as { id: number };
    expect(t.db.$client.query("SELECT count(*) AS n FROM sessions WHERE user_id = ?").get(userId.id)).toEqual({ n: 1 });
    // The page after the change carries the new session's CSRF token.
    expect(tokenOnPage).toBe(here.csrfToken);
  });
});

describe("a one-time password", () => {
  test("ends open sessions and must be changed before anything else", async () => {
    const open = t.client("192.0.2.33");
    await open.login(f.operatorA);
    expect((await open.get("/progetti")).status).toBe(200);

    const oneTime = (await resetPassword(t.db, t.clock, f.operatorA))!;
    expect(oneTime.length).toBeGreaterThanOrEqual(12);
    expect((await open.get("/progetti")).status).toBe(303);

    const client = t.client("192.0.2.34");
    await client.login(f.operatorA, oneTime);
    const page = await client.get("/progetti");
    expect(page.status).toBe(303);
    expect(page.headers.get("Location")).toBe("/profilo/password");
    const htmx = await client.request("/progetti", { headers: { "HX-Request": "true" } });
    expect(htmx.headers.get("HX-Redirect")).toBe("/profilo/password");
    expect(await (await client.get("/profilo/password")).text()).toContain("password provvisoria");

    const changed = await change(client, oneTime, "scelta-da-me-2020");
    expect(changed.status).toBe(303);
    expect((await client.get("/progetti")).status).toBe(200);
    expect(await resetPassword(t.db, t.clock, "nessuno@example.org")).toBeNull();
  });
});
