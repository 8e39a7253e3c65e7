import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as XLSX from "xlsx";
import { currentCode } from "../../src/services/two-factor.ts";
import { keyOf, newKeyText } from "../../src/services/sealed-files.ts";
import { csrfToken, sessionCookieOf, signIn } from "../helpers/http.ts";
import { unusedPort } from "../helpers/ports.ts";

// Real browsers and processes: slower than the 5 s default on a loaded machine.
setDefaultTimeout(60_000);

const root = join(import.meta.dir, "../..");
let buildDir: string;
let executable: string;

beforeAll(() => {
  buildDir = mkdtempSync(join(tmpdir(), "placement-build-"));
  const build = Bun.spawnSync(["bun", "src/build.ts", join(buildDir, "placement")], { cwd: root });
  if (build.exitCode !== 0) throw new Error(build.stderr.toString());
  executable = join(buildDir, "placement");
});
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

/** A copy of the executable alone in an empty folder. */
function lonelyCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "placement-exe-"));
  copyFileSync(executable, join(dir, "placement"));
  Bun.spawnSync(["chmod", "+x", join(dir, "placement")]);
  return dir;
}

function run(dir: string, args: string[], env: Record<string, string> = {}) {
  const result = Bun.spawnSync([join(dir, "placement"), ...args], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`${url} never answered`);
}

describe("the executable", () => {
  test("starts alone in an empty folder, serves, and stops cleanly on SIGTERM", async () => {
    const dir = lonelyCopy();
    const port = unusedPort();
    // Started from another working directory: the data folder goes beside the executable.
    const child = Bun.spawn([join(dir, "placement")], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? "", PORT: String(port) },
      stderr: "pipe",
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`${base}/healthz`);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const login = await (await fetch(`${base}/login`)).text();
      expect(login).toContain("Accedi");
      const htmxUrl = login.match(/<script src="([^"]+)"/)![1]!;
      const htmx = await fetch(`${base}${htmxUrl}`);
      expect(htmx.status).toBe(200);
      expect((await htmx.text()).includes('this.version="4.0.1"')).toBe(true);
      const css = login.match(/<link rel="stylesheet" href="([^"]+)"/)![1]!;
      expect((await fetch(`${base}${css}`)).status).toBe(200);
      expect(readdirSync(join(dir, "data"))).toContain("placement.db");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await child.exited).toBe(0);
    const log = await new Response(child.stderr).text();
    expect(log).toContain("no users yet");
    expect(log).toContain("shutting down");
    rmSync(dir, { recursive: true, force: true });
  });

  test("creates the first fund operator from the command line, who can then sign in", async () => {
    const dir = lonelyCopy();
    const created = run(dir, ["user", "create", "--role", "fund_operator", "--email", "Admin@Fondo.example"]);
    // The first command on a new folder makes the data key, and says where to put it.
    expect(created.stderr.trim().split("\n")).toEqual([expect.stringContaining("WARN a data key was made in")]);
    expect(created.exitCode).toBe(0);
    const password = created.stdout.match(/one-time password: (\S+)/)![1]!;
    const again = run(dir, ["user", "create", "--role", "fund_operator", "--email", "admin@fondo.example"]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr.trim()).toBe("placement: a user with e-mail admin@fondo.example already exists");
    const hostile = run(dir, ["user", "create", "--role", "fund_operator", "--email", "<svg/onload=alert(4)>@x.it"]);
    expect(hostile.exitCode).toBe(1);
    expect(hostile.stderr.trim()).toBe("placement: --email must be an e-mail address such as nome.cognome@fondo.example");

    const port = unusedPort();
    const child = Bun.spawn([join(dir, "placement"), "serve", "--port", String(port)], {
      env: { PATH: process.env.PATH ?? "" },
      stderr: "ignore",
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`${base}/healthz`);
      const cookie = await signIn(base, "admin@fondo.example", password);
      const first = await fetch(`${base}/fondo`, { headers: { Cookie: cookie }, redirect: "manual" });
      expect(first.headers.get("Location")).toBe("/profilo/password");
      const changed = await fetch(`${base}/profilo/password`, {
        method: "POST",
        redirect: "manual",
        headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: await csrfToken(base, cookie, "/profilo/password"), attuale: password, nuova: "password-scelta-2020", ripeti: "password-scelta-2020" }),
      });
      expect(changed.status).toBe(303);
      // The change renews the session id: the old cookie no longer opens anything.
      let renewed = sessionCookieOf(changed)!;
      expect((await fetch(`${base}/fondo`, { headers: { Cookie: cookie }, redirect: "manual" })).status).toBe(303);

      // Outside demo mode a fund operator enrols a second factor before anything else.
      expect((await fetch(`${base}/fondo`, { headers: { Cookie: renewed }, redirect: "manual" })).headers.get("Location")).toBe("/profilo");
      const post = (path: string, form: Record<string, string>, token: string) =>
        fetch(`${base}${path}`, {
          method: "POST",
          redirect: "manual",
          headers: { Cookie: renewed, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ _csrf: token, ...form }),
        });
      const enrolment = await (await post("/profilo/due-passaggi", {}, await csrfToken(base, renewed, "/profilo"))).text();
      const secret = enrolment.match(/<code class="mono">([A-Z2-7 ]+)<\/code>/)![1]!.replaceAll(" ", "");
      const confirmed = await post("/profilo/due-passaggi/conferma", { codice: currentCode(secret, new Date()) }, await csrfToken(base, renewed, "/profilo"));
      expect(confirmed.status).toBe(200);
      renewed = sessionCookieOf(confirmed)!;
      expect((await fetch(`${base}/fondo`, { headers: { Cookie: renewed }, redirect: "manual" })).status).toBe(200);

      const noSecond = run(dir, ["user", "reset-2fa", "--email", "nessuno@fondo.example"]);
      expect(noSecond.exitCode).toBe(1);
      expect(noSecond.stderr.trim()).toBe("placement: there is no user with e-mail nessuno@fondo.example");
      const resetSecond = run(dir, ["user", "reset-2fa", "--email", "Admin@fondo.example"]);
      expect(resetSecond.exitCode).toBe(0);
      expect(resetSecond.stdout).toContain("second factor of admin@fondo.example removed");
      expect((await fetch(`${base}/fondo`, { headers: { Cookie: renewed }, redirect: "manual" })).headers.get("Location")).toStartWith("/login");

      const reset = run(dir, ["user", "reset-password", "--email", "admin@fondo.example"]);
      expect(reset.exitCode).toBe(0);
      expect(reset.stdout).toMatch(/one-time password for admin@fondo\.example: \S+/);
      expect((await fetch(`${base}/fondo`, { headers: { Cookie: renewed }, redirect: "manual" })).status).toBe(303);
    } finally {
      child.kill("SIGTERM");
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("in demo mode it runs the whole round trip: workers and the parsing child are inside the executable", async () => {
    const dir = lonelyCopy();
    const port = unusedPort();
    const child = Bun.spawn(
      [join(dir, "placement"), "--demo", "--port", String(port), "--queue-cron", "* * * * * *", "--mail-cron", "* * * * * *"],
      { env: { PATH: process.env.PATH ?? "" }, stderr: "pipe" },
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`${base}/healthz`);
      const cookie = await signIn(base, "rpa@lavoroinsieme.demo");
      const booked = await fetch(`${base}/placement/prenotazioni`, {
        method: "POST",
        redirect: "manual",
        headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams([
          ["_csrf", await csrfToken(base, cookie)],
          ["tipologie", "BASE"],
          ["tipologie", "PROF"],
          ["anno", "2019"],
          ["formato", "xlsx"],
        ]),
      });
      expect(booked.status).toBe(303);
      let status = "";
      for (let i = 0; i < 100 && status !== "ready" && status !== "failed"; i++) {
        await Bun.sleep(200);
        const row = await (await fetch(`${base}/placement/prenotazioni/1`, { headers: { Cookie: cookie } })).text();
        status = row.match(/data-status="(\w+)"/)?.[1] ?? "";
      }
      expect(status).toBe("ready");
      const file = await fetch(`${base}/placement/prenotazioni/1/file`, { headers: { Cookie: cookie } });
      expect(file.status).toBe(200);
      const bytes = await file.arrayBuffer();
      const workbook = XLSX.read(bytes);
      expect(workbook.SheetNames).toEqual(["Allievi", "Legenda", "Metadati"]);
      const rows = XLSX.utils.sheet_to_json(workbook.Sheets["Allievi"]!).length;
      expect(rows).toBeGreaterThan(0);

      const form = new FormData();
      form.set("anno", "2019");
      form.set("file", new File([bytes], "ricaricato.xlsx"));
      const uploaded = await fetch(`${base}/placement/caricamenti`, {
        method: "POST",
        body: form,
        headers: { Cookie: cookie, "X-CSRF-Token": await csrfToken(base, cookie), "HX-Request": "true" },
      });
      expect(await uploaded.text()).toContain("in coda");
      let row = "";
      for (let i = 0; i < 100 && !/data-status="(done|done_with_errors|failed)"/.test(row); i++) {
        await Bun.sleep(200);
        row = await (await fetch(`${base}/placement/caricamenti/1`, { headers: { Cookie: cookie } })).text();
      }
      expect(row).toContain('data-status="done"');
      expect(row).toContain(`<td class="num">${rows}</td>`);
      for (let i = 0; i < 50 && !existsSync(join(dir, "data/mail/1.eml")); i++) await Bun.sleep(200);
      expect(readFileSync(join(dir, "data/mail/1.eml"), "utf8")).toContain("disponibile");
    } finally {
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("by API, with a token from the command line, a system runs the round trip against the real server; revoked, it is refused", async () => {
    const dir = lonelyCopy();
    const port = unusedPort();
    const child = Bun.spawn(
      [join(dir, "placement"), "--demo", "--port", String(port), "--queue-cron", "0 0 0 1 1 *", "--mail-cron", "* * * * * *"],
      { env: { PATH: process.env.PATH ?? "" }, stderr: "pipe" },
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`${base}/healthz`);
      const refusedUser = run(dir, ["token", "create", "--email", "operatore@lavoroinsieme.demo", "--name", "HR"]);
      expect(refusedUser.exitCode).toBe(1);
      expect(refusedUser.stderr).toContain("permesso Placement");
      expect(run(dir, ["token", "create", "--email", "rpa@lavoroinsieme.demo", "--name", "HR", "--days", "400"]).stderr).toContain("--days must be");
      const made = run(dir, ["token", "create", "--email", "rpa@lavoroinsieme.demo", "--name", "HR", "--days", "30"]);
      expect(made.exitCode).toBe(0);
      const token = made.stdout.trim();
      expect(token).toMatch(/^plc_[A-Za-z0-9_-]{43}$/);
      expect(made.stderr).toContain('token 1 "HR" for rpa@lavoroinsieme.demo');
      const auth = { Authorization: `Bearer ${token}` };
      const poll = async (url: string, done: (body: { status: string }) => boolean) => {
        for (let i = 0; i < 150; i++) {
          const body = (await (await fetch(url, { headers: auth })).json()) as { status: string };
          if (done(body)) return body;
          await Bun.sleep(100);
        }
        throw new Error(`${url} never finished`);
      };

      // The queue's tick is a year away: only the wake-up at booking can start the jobs.
      const booked = await fetch(`${base}/api/v1/bookings`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json", "Idempotency-Key": "hr-1" },
        body: JSON.stringify({ trainingTypes: ["BASE", "PROF"], year: 2019 }),
      });
      expect(booked.status).toBe(202);
      const location = booked.headers.get("Location")!;
      expect(location).toBe(`http://localhost:${port}/api/v1/bookings/1`);
      const ready = (await poll(`${base}/api/v1/bookings/1`, (b) => b.status !== "queued" && b.status !== "running")) as { status: string; rowCount: number };
      expect(ready.status).toBe("ready");
      const file = await fetch(`${base}/api/v1/bookings/1/file`, { headers: auth });
      expect(file.status).toBe(200);
      const bytes = await file.arrayBuffer();
      expect(XLSX.utils.sheet_to_json(XLSX.read(bytes).Sheets["Allievi"]!).length).toBe(ready.rowCount);

      const form = new FormData();
      form.set("year", "2019");
      form.set("file", new File([bytes], "ricaricato.xlsx"));
      const uploaded = await fetch(`${base}/api/v1/uploads`, { method: "POST", headers: auth, body: form });
      expect(uploaded.status).toBe(202);
      const done = (await poll(`${base}/api/v1/uploads/1`, (b) => !["queued", "running"].includes(b.status))) as { status: string; counts: { total: number } };
      expect(done.status).toBe("done");
      expect(done.counts.total).toBe(ready.rowCount);
      const outcome = await fetch(`${base}/api/v1/uploads/1/outcome`, { headers: auth });
      expect(outcome.status).toBe(200);
      expect(XLSX.read(await outcome.arrayBuffer()).SheetNames).toContain("Allievi");
      expect((await fetch(`${base}/api/v1/campaigns`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${base}/api/v1/dashboard?year=2019`, { headers: auth })).status).toBe(200);
      for (let i = 0; i < 50 && !existsSync(join(dir, "data/mail/2.eml")); i++) await Bun.sleep(200);
      expect(readFileSync(join(dir, "data/mail/2.eml"), "utf8")).toContain("caricamento");

      expect(run(dir, ["token", "revoke", "--id", "1"]).stdout).toContain('token 1 "HR" of rpa@lavoroinsieme.demo revoked');
      const after = await fetch(`${base}/api/v1/campaigns`, { headers: auth });
      expect(after.status).toBe(401);
      expect(after.headers.get("Content-Type")).toBe("application/problem+json");
      expect(run(dir, ["token", "revoke", "--id", "1"]).exitCode).toBe(1);
    } finally {
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("backs up while serving, and restores only once stopped", async () => {
    const dir = lonelyCopy();
    expect(run(dir, ["seed", "--agencies", "1", "--enrollments", "50"]).exitCode).toBe(0);
    const port = unusedPort();
    const child = Bun.spawn([join(dir, "placement"), "--port", String(port)], { env: { PATH: process.env.PATH ?? "" }, stderr: "ignore" });
    const copy = join(dir, "copia.db");
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`);
      const backup = run(dir, ["backup", "--out", copy]);
      expect(backup.exitCode).toBe(0);
      expect(backup.stdout).toContain(`backup written to ${copy}`);
      const refused = run(dir, ["restore", copy]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain("stop it before restoring");
    } finally {
      child.kill("SIGTERM");
      await child.exited;
    }
    const restored = run(dir, ["restore", copy]);
    expect(restored.stderr).toBe("");
    expect(restored.exitCode).toBe(0);
    expect(restored.stdout).toContain("the previous one is kept as");
    expect(run(dir, ["migrate"]).stdout).toContain("database is up to date");
    rmSync(dir, { recursive: true, force: true });
  });

  test("one server per data folder: a second is refused, a stale process id file keeps nobody out", async () => {
    const dir = lonelyCopy();
    mkdirSync(join(dir, "data"));
    // Left by a server that died, naming a process that is alive (this test's own).
    writeFileSync(join(dir, "data/placement.pid"), String(process.pid));
    const port = unusedPort();
    const child = Bun.spawn([join(dir, "placement"), "--port", String(port)], { env: { PATH: process.env.PATH ?? "" }, stderr: "ignore" });
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`);
      const second = run(dir, ["serve", "--port", String(unusedPort())]);
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toContain("another Placement is running on");
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
    // Killed outright, it let go of the folder: the next start is not refused.
    const next = Bun.spawn([join(dir, "placement"), "--port", String(port)], { env: { PATH: process.env.PATH ?? "" }, stderr: "ignore" });
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`);
    } finally {
      next.kill("SIGTERM");
      expect(await next.exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--help lists the commands and every setting", () => {
    const dir = lonelyCopy();
    const help = run(dir, ["--help"]);
    expect(help.exitCode).toBe(0);
    for (const word of ["serve", "migrate", "seed", "backup", "restore FILE", "user create", "PORT", "DATA_DIR", "SMTP_URL", "BACKUP_CRON"]) {
      expect(help.stdout).toContain(word);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("bad start-up input: one clear line, non-zero exit, nothing overwritten", () => {
  test.each([
    [{ PORT: "tremila" }, [], "placement: PORT must be a whole number"],
    [{ SMTP_URL: "posta" }, [], "placement: SMTP_URL"],
    [{}, ["--prot", "3000"], "placement: unknown flag --prot"],
    [{}, ["restart"], 'placement: unknown command "restart"'],
  ])("%p %p", (env, args, message) => {
    const dir = lonelyCopy();
    const result = run(dir, args, env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toStartWith(message);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a database file that is not SQLite is left untouched", () => {
    const dir = lonelyCopy();
    mkdirSync(join(dir, "data"));
    writeFileSync(join(dir, "data/placement.db"), "not a database at all, but precious\n");
    const result = run(dir, ["serve"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("is not an SQLite database");
    expect(readFileSync(join(dir, "data/placement.db"), "utf8")).toBe("not a database at all, but precious\n");
    // Only the lock that keeps a second server out was added beside it.
    expect(readdirSync(join(dir, "data")).sort()).toEqual(["placement.db", "placement.lock"]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the first start makes the data key and says to move it; a start with another key is refused, nothing overwritten", () => {
    const dir = lonelyCopy();
    const first = run(dir, ["migrate"]);
    expect(first.exitCode).toBe(0);
    const keyFile = join(dir, "data", "placement.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(first.stderr).toContain("move it outside DATA_DIR and out of the backups");
    const key = readFileSync(keyFile, "utf8").trim();
    // The live database is not sealed: it is its user's alone, and made so again if it was not.
    const database = join(dir, "data", "placement.db");
    expect(statSync(database).mode & 0o777).toBe(0o600);
    chmodSync(database, 0o644);
    const opened = run(dir, ["migrate"]);
    expect(opened.stderr).toContain("could be read by other users (mode 644): it is now readable by this user only");
    expect(statSync(database).mode & 0o777).toBe(0o600);
    const before = readFileSync(join(dir, "data", "placement.db"));

    const other = keyOf(newKeyText());
    const refused = run(dir, ["serve"], { DATA_KEY: Buffer.from(other.key).toString("base64") });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toStartWith("placement: none of the data keys given is one this database's files were sealed with");
    expect(readFileSync(join(dir, "data", "placement.db")).equals(before)).toBe(true);
    expect(existsSync(join(dir, "data", "backups"))).toBe(false);

    // Moved out of DATA_DIR as the log said, given by file: accepted; a newer key may come first, to rotate.
    const outside = join(dir, "placement-keys");
    writeFileSync(outside, `${newKeyText()}\n${key}\n`);
    rmSync(keyFile);
    expect(run(dir, ["migrate"], { DATA_KEY_FILE: outside }).exitCode).toBe(0);
    const missing = run(dir, ["migrate"]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("needs its data key: set DATA_KEY or DATA_KEY_FILE");
    rmSync(dir, { recursive: true, force: true });
  });

  test("a data folder that cannot be used", () => {
    const dir = lonelyCopy();
    writeFileSync(join(dir, "a-file"), "x");
    const result = run(dir, ["serve"], { DATA_DIR: join(dir, "a-file") });
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(`placement: DATA_DIR ${join(dir, "a-file")} cannot be used`);
    expect(readFileSync(join(dir, "a-file"), "utf8")).toBe("x");
    rmSync(dir, { recursive: true, force: true });
  });
});
