import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../src/app.tsx";
import { dataPaths, loadConfig } from "../../src/config.ts";
import { openDatabase, type Db } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { createDeps } from "../../src/deps.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { generateDataset } from "../../src/services/demo-data.ts";
import { currentCode } from "../../src/services/two-factor.ts";
import { adoptKeys, resolveKeys } from "../../src/services/sealed-files.ts";
import { queries } from "./flows.ts";

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public current = new Date("2020-09-15T10:00:00Z")) {}
  now = () => new Date(this.current);
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/**
 * A real app on a real SQLite file in a temp folder, built through the real migrations,
 * filled with a small generated dataset (2 agencies, demo users, password demo1234).
 */
export async function createTestApp(options: { env?: Record<string, string>; dataset?: boolean; enrollments?: number; dir?: string } = {}) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "placement-test-"));
  const config = loadConfig({ DATA_DIR: dir, ...options.env });
  // As the first start does: a new data folder gets its key.
  const { keys } = resolveKeys(config, existsSync(dataPaths(config).database));
  const db: Db = openDatabase(dataPaths(config).database);
  migrate(db);
  const clock = new TestClock();
  adoptKeys(db, keys, clock.now());
  const deps = createDeps({ db, config, clock, keys, log: process.env.DEBUG_LOG ? createLogger() : silentLogger });
  if (options.dataset !== false) {
    await generateDataset(db, clock, { agencies: 2, enrollments: options.enrollments ?? 240, seed: 7 });
    // Outside demo mode fund operators must have a second factor: theirs is enrolled here.
    db.$client.run("UPDATE users SET totp_secret = ? WHERE role = 'fund_operator'", [TEST_TOTP_SECRET]);
  }
  const app = createApp(deps);
  return {
    dir,
    db,
    clock,
    deps,
    app,
    client: (address = "192.0.2.1") => new TestClient(app, address, (email) => authenticatorCode(db, clock, email)),
    close() {
      deps.workers.close();
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The TOTP secret of the fund operators of the generated dataset. */
export const TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/**
 * What the user's authenticator shows now. The test clock stands still, so a sign-in in the
 * same thirty seconds as the last one would reuse a code, which is refused: each sign-in
 * here stands for one made later.
 */
function authenticatorCode(db: Db, clock: TestClock, email: string): string | null {
  const row = db.$client.query("SELECT totp_secret AS secret FROM users WHERE email = ?").get(email) as { secret: string | null } | null;
  if (!row?.secret) return null;
  db.$client.run("UPDATE users SET totp_last_step = NULL WHERE email = ?", [email]);
  return currentCode(row.secret, clock.now());
}

type App = ReturnType<typeof createApp>;

/** A browser-like client: keeps cookies and the CSRF token of the last page it saw. */
export class TestClient {
  cookies = new Map<string, string>();
  csrfToken = "";

  constructor(
    private app: App,
    private address: string,
    private code: (email: string) => string | null = () => null,
  ) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set("Cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const response = await this.app.request(path, { ...init, headers, redirect: "manual" }, {
      requestIP: () => ({ address: this.address }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, value] = pair!.split("=") as [string, string];
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim()));
      if (expired || value === "") this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    return response;
  }

  /** GET, remembering the page's CSRF token. */
  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await this.request(path, { headers });
    const text = await response.clone().text();
    const token = text.match(/name="_csrf" value="([^"]+)"/)?.[1];
    if (token) this.csrfToken = token;
    return response;
  }

  /** POST a form, with the CSRF token unless the test supplies its own `_csrf`. */
  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const body = new URLSearchParams({ _csrf: this.csrfToken, ...form });
    return this.request(path, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    });
  }

  /** Signs in, the second step included for a user who has one; the answer to the last step. */
  async login(email: string, password = "demo1234"): Promise<Response> {
    await this.get("/login");
    let response = await this.post("/login", { email, password });
    if (response.headers.get("Location")?.startsWith("/login/codice")) {
      await this.get(response.headers.get("Location")!);
      response = await this.post("/login/codice", { codice: this.code(email) ?? "" });
    }
    await this.get("/");
    return response;
  }
}

/** Agencies, users and objects of the generated dataset, looked up straight from the tables. */
export function fixtures(db: Db) {
  const { one, all } = queries(db);
  const agencies = all<{ id: number; code: string }>("SELECT id, code FROM agencies ORDER BY id");
  const [a, b] = agencies as [{ id: number; code: string }, { id: number; code: string }];
  const emailOf = (agencyId: number, role: string) =>
    one<{ email: string }>("SELECT email FROM users WHERE agency_id = ? AND role = ?", agencyId, role).email;
  const projectOf = (agencyId: number) =>
    one<{ id: number }>("SELECT id FROM projects WHERE agency_id = ? ORDER BY id LIMIT 1", agencyId).id;
  return {
    agencyA: a,
    agencyB: b,
    rpaA: emailOf(a.id, "rpa"),
    referentA: emailOf(a.id, "referent"),
    operatorA: emailOf(a.id, "operator"),
    rpaB: emailOf(b.id, "rpa"),
    fund: one<{ email: string }>("SELECT email FROM users WHERE role = 'fund_operator'").email,
    projectA: projectOf(a.id),
    projectB: projectOf(b.id),
  };
}
