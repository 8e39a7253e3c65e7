import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { unsealWhole } from "../../src/services/sealed-files.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { createApp } from "../../src/app.tsx";
import { drainExports } from "../../src/jobs/exports.ts";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { createLogger } from "../../src/log.ts";
import { signedIn } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// The round trip starts a worker and a child process.
setDefaultTimeout(60_000);

const TOKEN = "metrics-token-for-the-tests";
let t: TestApp;
const scratch = mkdtempSync(join(tmpdir(), "placement-ops-"));

beforeAll(async () => {
  t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } });
});
afterAll(() => {
  t.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("/metrics", () => {
  test("refuses a missing or wrong token, and is absent when no token is configured", async () => {
    expect((await t.app.request("/metrics")).status).toBe(401);
    expect((await t.app.request("/metrics", { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
    const off = await createTestApp({ dataset: false });
    try {
      expect((await off.app.request("/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      off.close();
    }
  });

  test("speaks Prometheus text: requests, jobs, queue depth and outbox", async () => {
    const client = await signedIn(t, fixtures(t.db).rpaA, { page: "/placement/import-massivo" });
    await client.post("/placement/prenotazioni", { tipologie: "BASE", anno: "2019", formato: "csv" });
    const queued = await (await t.app.request("/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
    expect(queued).toContain('placement_queue_depth{queue="exports"} 1');
    await drainExports(t.deps);
    const response = await t.app.request("/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/plain; version=0.0.4");
    const text = await response.text();
    expect(text).toMatch(/placement_http_requests_total\{method="GET",status="2xx"\} \d+/);
    expect(text).toContain('placement_job_runs_total{job="export_jobs",outcome="done"} 1');
    expect(text).toContain('placement_queue_depth{queue="exports"} 0');
    expect(text).toMatch(/placement_outbox_pending \d+/);
    expect(text).toMatch(/placement_data_dir_free_bytes \d+/);
  });
});

describe("logs", () => {
  test("as JSON: one parseable object per line with the fields", () => {
    const lines: string[] = [];
    createLogger("json", (line) => lines.push(line)).info("request", { id: "abc", status: 200, user: undefined });
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: "info", message: "request", id: "abc", status: 200 });
    expect("user" in entry).toBe(false);
  });

  test("a full round trip logs no codice fiscale and no password", async () => {
    const lines: string[] = [];
    const logged = await createTestApp();
    try {
      const deps = { ...logged.deps, log: createLogger("text", (line) => lines.push(line)) };
      const app = createApp(deps);
      const f = fixtures(logged.db);
      const request = (path: string, init: RequestInit = {}, cookie = "") =>
        app.request(path, { ...init, headers: { ...(init.headers as Record<string, string>), Cookie: cookie } }, { requestIP: () => ({ address: "192.0.2.9" }) });
      const loginPage = await request("/login");
      const loginCookie = loginPage.headers.getSetCookie()[0]!.split(";")[0]!;
      const token = (await loginPage.text()).match(/name="_csrf" value="([^"]+)"/)![1]!;
      const signIn = await request(
        "/login",
        { method: "POST", body: new URLSearchParams({ _csrf: token, email: f.rpaA, password: "demo1234" }), headers: { "Content-Type": "application/x-www-form-urlencoded" } },
        loginCookie,
      );
      const cookie = signIn.headers.getSetCookie().find((c) => c.startsWith("placement_session="))!.split(";")[0]!;
      const page = await (await request("/placement/import-massivo", {}, cookie)).text();
      const csrf = page.match(/name="_csrf" value="([^"]+)"/)![1]!;
      await request(
        "/placement/prenotazioni",
        { method: "POST", body: new URLSearchParams({ _csrf: csrf, tipologie: "BASE", anno: "2019", formato: "xlsx" }), headers: { "Content-Type": "application/x-www-form-urlencoded" } },
        cookie,
      );
      await drainExports(deps);
      const file = (logged.db.$client.query("SELECT file_path FROM export_jobs").get() as { file_path: string }).file_path;
      const form = new FormData();
      form.set("anno", "2019");
      form.set("file", new File([await unsealWhole(`${logged.dir}/${file}`, logged.deps.keys)], "ricaricato.xlsx"));
      await request("/placement/caricamenti", { method: "POST", body: form, headers: { "X-CSRF-Token": csrf } }, cookie);
      await drainUploads(deps);
      await request("/placement/caricamenti/1/esito", {}, cookie);
      await request("/progetti", {}, cookie);

      expect(lines.some((l) => l.includes("import finished"))).toBe(true);
      expect(lines.some((l) => l.includes("path=/placement/caricamenti"))).toBe(true);
      const codes = (logged.db.$client.query("SELECT codice_fiscale FROM participants").all() as { codice_fiscale: string }[]).map((p) => p.codice_fiscale);
      const everything = lines.join("\n");
      expect(codes.filter((code) => everything.includes(code))).toEqual([]);
      expect(everything).not.toContain("demo1234");
    } finally {
      logged.close();
    }
  });
});

describe("secrets from files", () => {
  test("NAME_FILE supplies a value, and an unreadable one is named", () => {
    const secret = join(scratch, "smtp-url");
    writeFileSync(secret, "smtp://user:segreto@mail.example.org:587\n");
    expect(loadConfig({ SMTP_URL_FILE: secret }).SMTP_URL).toBe("smtp://user:segreto@mail.example.org:587");
    expect(() => loadConfig({ SMTP_URL_FILE: join(scratch, "missing") })).toThrow(ConfigError);
    expect(() => loadConfig({ SMTP_URL_FILE: join(scratch, "missing") })).toThrow(`SMTP_URL_FILE ${join(scratch, "missing")} cannot be read`);
  });
});
