import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
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

// Who gets which status on every page is the table in permissions.test.ts; these check what the pages hold.
describe("tenant isolation", () => {
  test("an agency user sees only their agency's projects", async () => {
    const client = t.client();
    await client.login(f.rpaA);
    const html = await (await client.get("/progetti")).text();
    const codes = [...html.matchAll(/href="\/progetti\/(\d+)"/g)].map((m) => Number(m[1]));
    const own = t.db.$client
      .query("SELECT id FROM projects WHERE agency_id = ? ORDER BY code")
      .all(f.agencyA.id)
      .map((r) => (r as { id: number }).id);
    expect(codes.length).toBeGreaterThan(0);
    expect(codes).toEqual(own);
  });

  test("a fund operator sees every agency and their projects", async () => {
    const client = t.client();
    await client.login(f.fund);
    const list = await (await client.get("/fondo")).text();
    expect(list).toContain(f.agencyA.code);
    expect(list).toContain(f.agencyB.code);
    expect((await client.get(`/progetti/${f.projectB}`)).status).toBe(200);
    const agencyPage = await client.get(`/fondo/agenzie/${f.agencyB.id}`);
    expect(agencyPage.status).toBe(200);
    expect(await agencyPage.text()).toContain(`href="/progetti/${f.projectB}"`);
  });

  test("the fund's agency list shows each agency's enrollments as the raw tables count them", async () => {
    const client = t.client();
    await client.login(f.fund);
    const html = await (await client.get("/fondo")).text();
    for (const agency of [f.agencyA, f.agencyB]) {
      const expected = t.db.$client
        .query("SELECT count(*) AS n FROM enrollments e JOIN projects p ON p.id = e.project_id WHERE p.agency_id = ? AND p.year = 2019")
        .get(agency.id) as { n: number };
      const row = html.split("<tr").find((r) => r.includes(`data-agency="${agency.code}"`))!;
      expect(row.match(/class="num">([\d.]+)</)![1]!.replace(/\./g, "")).toBe(String(expected.n));
    }
  });
});

describe("placement permission", () => {
  test("an operator without the permission is refused the Placement section", async () => {
    const client = t.client();
    await client.login(f.operatorA);
    const response = await client.get("/placement");
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("Non hai il permesso Placement");
    expect(await (await client.get("/progetti")).text()).not.toContain('href="/placement"');
  });

  test("the rpa, a referent with the permission and the fund operator get in", async () => {
    for (const email of [f.rpaA, f.referentA, f.fund]) {
      const client = t.client();
      await client.login(email);
      const response = await client.get("/placement/import-massivo");
      expect(response.status, email).toBe(200);
      expect(await response.text()).toContain("Import massivo fasce deboli");
    }
  });

  test("granting the permission opens the section", async () => {
    t.db.$client.query("UPDATE users SET placement_permission = 1 WHERE email = ?").run(f.operatorA);
    try {
      const client = t.client();
      await client.login(f.operatorA);
      expect((await client.get("/placement")).status).toBe(200);
    } finally {
      t.db.$client.query("UPDATE users SET placement_permission = 0 WHERE email = ?").run(f.operatorA);
    }
  });

});

describe("health", () => {
  test("/healthz and /readyz answer 200 while the database answers", async () => {
    expect((await t.app.request("/healthz")).status).toBe(200);
    expect((await t.app.request("/readyz")).status).toBe(200);
  });

  test("/readyz answers 503 when the database does not", async () => {
    const broken = await createTestApp({ dataset: false });
    broken.db.$client.close();
    try {
      expect((await broken.app.request("/readyz")).status).toBe(503);
      expect((await broken.app.request("/healthz")).status).toBe(200);
    } finally {
      broken.close();
    }
  });

  test("htmx is served from the embedded file", async () => {
    const html = await (await t.client().get("/login")).text();
    const src = html.match(/<script src="([^"]+)"/)![1]!;
    expect(src).toBe("/static/htmx-4.0.1.min.js");
    const js = await t.app.request(src);
    expect(js.status).toBe(200);
    expect(js.headers.get("Content-Type")).toContain("javascript");
    expect(await js.text()).toContain("4.0.1");
  });

  test.each(["__proto__", "constructor", "toString", "hasOwnProperty", "nessuno.js"])("/static/%s is not found", async (name) => {
    const response = await t.app.request(`/static/${name}`);
    expect(response.status).toBe(404);
  });
});
