/*
 * Faults of the running program, on the built executable: kill -9 at the moments of a job
 * where it hurts, another SQLite client reading the live database, the SMTP server down and
 * back, hostile files measured for the server's memory and another user's wait, and a backup
 * restored into another folder.
 */
import { keyRingOf, unsealWhole } from "../../src/services/sealed-files.ts";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as XLSX from "xlsx";
import { TRAINEE_COLUMNS } from "../../src/sheets/columns.ts";
import { editEntry, sharedStringFile, zipBomb } from "../helpers/bad-files.ts";
import { killHard, lonelyCopy, run, startServer, stopServer, type Server } from "../helpers/executable.ts";
import { col } from "../helpers/flows.ts";
import { csrfToken, signIn } from "../helpers/http.ts";
import { unusedPort } from "../helpers/ports.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";

setDefaultTimeout(180_000);

const FAST = ["--queue-cron", "* * * * * *", "--mail-cron", "* * * * * *"];
const RPA = "rpa@lavoroinsieme.demo";
let template: string;
let filled: Uint8Array<ArrayBuffer>;
const dirs: string[] = [];

/** A copy of the seeded folder, with its executable, for one run. */
function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "placement-fault-"));
  cpSync(template, dir, { recursive: true });
  dirs.push(dir);
  return dir;
}

const db = (dir: string) => new Database(join(dir, "data/placement.db"), { readonly: true });
function query<T>(dir: string, sql: string, ...params: (string | number)[]): T[] {
  const sqlite = db(dir);
  try {
    return sqlite.query(sql).all(...params) as T[];
  } finally {
    sqlite.close();
  }
}

async function book(server: Server, cookie: string): Promise<void> {
  const response = await fetch(`${server.base}/placement/prenotazioni`, {
    method: "POST",
    redirect: "manual",
    headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams([["_csrf", await csrfToken(server.base, cookie)], ...["BASE", "PROF", "OTJ", "CONT", "QUAL", "RIQ"].map((t) => ["tipologie", t]), ["anno", "2019"], ["formato", "xlsx"]]),
  });
  expect(response.status).toBe(303);
}

async function uploadTo(server: Server, cookie: string, bytes: Uint8Array<ArrayBuffer>, name = "compilato.xlsx") {
  const form = new FormData();
  form.set("anno", "2019");
  form.set("file", new File([bytes], name));
  const response = await fetch(`${server.base}/placement/caricamenti`, {
    method: "POST",
    body: form,
    headers: { Cookie: cookie, "X-CSRF-Token": await csrfToken(server.base, cookie), "HX-Request": "true" },
  });
  return { status: response.status, html: await response.text() };
}

async function until(condition: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition never met");
    await Bun.sleep(20);
  }
}

const jobEnded = (dir: string, table: string, id: number) => () =>
  query<{ status: string }>(dir, `SELECT status FROM ${table} WHERE id = ?`, id)[0]?.status.match(/^(done|done_with_errors|failed|ready)$/) !== null;

/** The parts of the database a job's result is made of, without the times it ran at. */
function state(dir: string) {
  return {
    enrollments: query(dir, "SELECT id, fascia_debole, placed, hire_date, contract_type, employer_vat, employer_name, revision FROM enrollments ORDER BY id"),
    changes: query(dir, "SELECT enrollment_id, revision, field, old_value, new_value, import_job_id FROM enrollment_changes ORDER BY enrollment_id, revision, field"),
    outcomes: query(dir, "SELECT import_job_id, row_number, enrollment_id, outcome, message FROM import_row_outcomes ORDER BY import_job_id, row_number"),
    jobs: query(dir, "SELECT id, status, rows_total, rows_ok, rows_ko, rows_unchanged FROM import_jobs ORDER BY id"),
    mail: query(dir, "SELECT subject FROM mail_outbox ORDER BY id"),
  };
}

/** The server's own children (its reading processes), by command line. */
function childrenOf(pid: number): string[] {
  return readdirSync("/proc").flatMap((p) => {
    if (!/^\d+$/.test(p)) return [];
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== pid) return [];
      return [readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\u0000", " ")];
    } catch {
      return [];
    }
  });
}

const residentMb = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;

beforeAll(async () => {
  template = lonelyCopy();
  expect(run(template, ["seed", "--agencies", "2", "--enrollments", "6000"]).exitCode).toBe(0);
  const server = await startServer(template, {}, FAST);
  try {
    const cookie = await signIn(server.base, RPA);
    await book(server, cookie);
    await until(() => query<{ status: string }>(template, "SELECT status FROM export_jobs WHERE id = 1")[0]?.status === "ready");
    const bytes = await (await fetch(`${server.base}/placement/prenotazioni/1/file`, { headers: { Cookie: cookie } })).arrayBuffer();
    const workbook = XLSX.read(bytes);
    const rows = XLSX.utils.sheet_to_json<unknown[]>(workbook.Sheets.Allievi!, { header: 1, defval: "", raw: true });
    let changed = 0;
    for (const row of rows.slice(1)) {
      if (row[col("homogeneous")] !== "NO" || changed >= 400) continue;
      row[col("fasciaDebole")] = row[col("fasciaDebole")] === "GIOV" ? "OVER50" : "GIOV";
      changed++;
    }
    workbook.Sheets.Allievi = XLSX.utils.aoa_to_sheet(rows);
    filled = new Uint8Array(XLSX.write(workbook, { type: "buffer", bookType: "xlsx" }));
    // Every copy starts with its outbox sent.
    await until(() => query(template, "SELECT 1 FROM mail_outbox WHERE status != 'sent'").length === 0 && query(template, "SELECT 1 FROM mail_outbox").length > 0);
  } finally {
    expect(await stopServer(server)).toBe(0);
  }
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  rmSync(template, { recursive: true, force: true });
});

describe("kill -9 in the middle of an upload", () => {
  let reference: ReturnType<typeof state>;

  beforeAll(async () => {
    const dir = freshCopy();
    const server = await startServer(dir, {}, FAST);
    try {
      expect((await uploadTo(server, await signIn(server.base, RPA), filled)).status).toBe(200);
      await until(jobEnded(dir, "import_jobs", 1));
    } finally {
      await stopServer(server);
    }
    reference = state(dir);
    expect(reference.jobs).toEqual([expect.objectContaining({ id: 1, status: "done", rows_ok: 400 })]);
  });

  const moments: [string, (dir: string, server: Server) => boolean][] = [
    ["while the child reads the file", (_dir, server) => childrenOf(server.pid).some((c) => c.includes("parse-upload") && !c.includes("--header-only"))],
    ["while the outcome file is written", (dir) => existsSync(join(dir, "data/outcomes")) && readdirSync(join(dir, "data/outcomes")).some((n) => n.endsWith(".part"))],
    ["once the outcome file is written, while the rows are applied", (dir) => existsSync(join(dir, "data/outcomes")) && readdirSync(join(dir, "data/outcomes")).some((n) => n.endsWith("-esito.xlsx"))],
  ];

  for (const [moment, reached] of moments) {
    test(`${moment}: after a restart the job ends once, as if nothing had happened`, async () => {
      const dir = freshCopy();
      const server = await startServer(dir, {}, FAST);
      const cookie = await signIn(server.base, RPA);
      const uploaded = uploadTo(server, cookie, filled);
      let hit = false;
      for (let i = 0; i < 20_000 && !hit; i++) {
        if (reached(dir, server)) hit = true;
        else if (i > 10 && query<{ status: string }>(dir, "SELECT status FROM import_jobs WHERE id = 1")[0]?.status.startsWith("done")) break;
        else await Bun.sleep(1);
      }
      await killHard(server);
      await uploaded.catch(() => {});
      console.log(`kill -9 ${moment}: ${hit ? "reached" : "missed (the job was faster)"}`);

      const again = await startServer(dir, {}, FAST);
      try {
        await until(jobEnded(dir, "import_jobs", 1));
        await until(() => query(dir, "SELECT 1 FROM mail_outbox WHERE subject LIKE '%caricamento n. 1%'").length > 0);
      } finally {
        await stopServer(again);
      }
      const after = state(dir);
      expect(after.jobs).toEqual(reference.jobs);
      expect(after.enrollments).toEqual(reference.enrollments);
      expect(after.changes).toEqual(reference.changes);
      expect(after.outcomes).toEqual(reference.outcomes);
      expect(after.mail.filter((m) => JSON.stringify(m).includes("caricamento n. 1"))).toHaveLength(1);
      expect(readdirSync(join(dir, "data/outcomes")).filter((n) => n.endsWith(".part"))).toEqual([]);
    });
  }
});

describe("kill -9 in the middle of a download", () => {
  test("while the file is written: after a restart the download is ready once, whole, with one mail", async () => {
    const dir = freshCopy();
    const server = await startServer(dir, {}, FAST);
    const cookie = await signIn(server.base, RPA);
    await book(server, cookie);
    const exportsDir = join(dir, "data/exports");
    await until(() => readdirSync(exportsDir).some((n) => n.endsWith(".part")) || query<{ status: string }>(dir, "SELECT status FROM export_jobs WHERE id = 2")[0]?.status === "ready", 30_000);
    await killHard(server);
    const again = await startServer(dir, {}, FAST);
    try {
      await until(jobEnded(dir, "export_jobs", 2));
      const file = await fetch(`${again.base}/placement/prenotazioni/2/file`, { headers: { Cookie: await signIn(again.base, RPA) } });
      expect(file.status).toBe(200);
      expect(XLSX.read(await file.arrayBuffer()).SheetNames).toEqual(["Allievi", "Legenda", "Metadati"]);
      await until(() => query(dir, "SELECT 1 FROM mail_outbox WHERE id > 1").length > 0, 10_000);
    } finally {
      await stopServer(again);
    }
    expect(query<{ status: string }>(dir, "SELECT status FROM export_jobs WHERE id = 2")).toEqual([{ status: "ready" }]);
    expect(readdirSync(exportsDir).filter((n) => n.endsWith(".part"))).toEqual([]);
    expect(readdirSync(exportsDir).filter((n) => n.startsWith("2-"))).toHaveLength(1);
    expect(query(dir, "SELECT 1 FROM mail_outbox WHERE id > 1")).toHaveLength(1);
  });

  test("while its mail is being sent: the job stays done once; the message is not sent again at the restart", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const sink = await startSmtpSink({ hold: () => held });
    const dir = freshCopy();
    const env = { SMTP_URL: `smtp://127.0.0.1:${sink.port}` };
    const server = await startServer(dir, env, FAST);
    try {
      await book(server, await signIn(server.base, RPA));
      await until(() => sink.arriving.count > 0);
      await killHard(server);
      release();
      const again = await startServer(dir, env, FAST);
      await Bun.sleep(3_000);
      await stopServer(again);
      expect(query<{ status: string }>(dir, "SELECT status FROM export_jobs WHERE id = 2")).toEqual([{ status: "ready" }]);
      expect(sink.arriving.count).toBe(1);
      // The template's own message was sent before; this booking's is the second.
      expect(query<{ status: string }>(dir, "SELECT status FROM mail_outbox WHERE id > 1")).toEqual([{ status: "sending" }]);
    } finally {
      release();
      await sink.close();
    }
  });
});

describe("around the program", () => {
  test("another SQLite client opening and closing the live database costs nothing: jobs go on, the WAL stays, kill -9 loses nothing", async () => {
    const dir = freshCopy();
    const server = await startServer(dir, {}, FAST);
    const cookie = await signIn(server.base, RPA);
    await book(server, cookie);
    await until(jobEnded(dir, "export_jobs", 2));
    // A sysadmin's look with the sqlite3 shell, which on closing deletes the write-ahead log
    // when it believes itself the last user of the database.
    const look = Bun.spawnSync(["sqlite3", join(dir, "data/placement.db"), "SELECT count(*) FROM enrollments;"]);
    expect(look.stderr.toString()).toBe("");
    expect(Number(look.stdout.toString())).toBe(6000);
    expect(existsSync(join(dir, "data/placement.db-wal"))).toBe(true);
    expect((await uploadTo(server, cookie, filled)).status).toBe(200);
    await until(jobEnded(dir, "import_jobs", 1));
    expect(existsSync(join(dir, "data/placement.db-wal"))).toBe(true);
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
    await killHard(server);
    const again = await startServer(dir, {}, FAST);
    await stopServer(again);
    expect(query<{ status: string; rows_ok: number }>(dir, "SELECT status, rows_ok FROM import_jobs")).toEqual([{ status: "done", rows_ok: 400 }]);
    expect(query<{ n: number }>(dir, "SELECT count(*) AS n FROM enrollment_changes")).toEqual([{ n: 400 }]);
  });

  test("the SMTP server down, then back: each message is delivered, once", async () => {
    const port = unusedPort();
    const dir = freshCopy();
    const server = await startServer(dir, { SMTP_URL: `smtp://127.0.0.1:${port}` }, FAST);
    try {
      await book(server, await signIn(server.base, RPA));
      // The first attempt fails: the message waits for the next, 30 seconds later.
      await until(() => query<{ status: string }>(dir, "SELECT status FROM mail_outbox WHERE id > 1 AND attempts = 1")[0]?.status === "pending");
      const sink = await startSmtpSink({ port });
      try {
        // The first retry comes 30 seconds after the failure.
        await until(() => sink.messages.length > 0, 90_000);
        await Bun.sleep(3_000);
        expect(sink.messages).toHaveLength(1);
        expect(query<{ status: string }>(dir, "SELECT status FROM mail_outbox WHERE id > 1")).toEqual([{ status: "sent" }]);
      } finally {
        await sink.close();
      }
    } finally {
      await stopServer(server);
    }
  });

  test("hostile files: the server's memory stays under 300 MB and another user's page keeps answering", async () => {
    const dir = freshCopy();
    const server = await startServer(dir, {}, FAST);
    const headers = TRAINEE_COLUMNS.map((c) => c.header);
    const clerk = await signIn(server.base, RPA);
    const other = await signIn(server.base, "rpa@tempopieno.demo");
    const keys = keyRingOf(readFileSync(join(dir, "data", "placement.key"), "utf8"));
    const export1 = await unsealWhole(join(dir, "data", query<{ file_path: string }>(dir, "SELECT file_path FROM export_jobs WHERE id = 1")[0]!.file_path), keys);
    const files: [string, Uint8Array][] = [
      ["a 4 MB shared string in the header", sharedStringFile(headers, "a".repeat(3_900_000), { rows: 200, columns: 60, inHeader: true })],
      ["30,000 characters repeated in every cell", sharedStringFile(headers, "b".repeat(30_000), { rows: 3_000, columns: 60 })],
      ["a cell never closed", editEntry(export1, "xl/worksheets/sheet1.xml", (xml) => xml.slice(0, xml.indexOf('<row r="3"')) + xml.slice(xml.indexOf('<row r="3"')).replaceAll("</c>", ""))],
      ["a zip bomb", zipBomb(export1, 300)],
    ];
    const figures: string[] = [];
    try {
      for (const [name, bytes] of files) {
        let peak = residentMb(server.pid);
        let worst = 0;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            peak = Math.max(peak, residentMb(server.pid));
            const started = performance.now();
            await fetch(`${server.base}/placement`, { headers: { Cookie: other } });
            worst = Math.max(worst, performance.now() - started);
            await Bun.sleep(5);
          }
        })();
        const started = performance.now();
        const answer = await uploadTo(server, clerk, bytes as Uint8Array<ArrayBuffer>, `${name}.xlsx`);
        if (answer.status === 200) {
          const id = query<{ id: number }>(dir, "SELECT max(id) AS id FROM import_jobs")[0]!.id;
          await until(jobEnded(dir, "import_jobs", id));
        }
        const refusedMs = performance.now() - started;
        sampling = false;
        await sampler;
        figures.push(`${name}: ${answer.status === 200 ? "refused by the job" : "refused at upload"} in ${Math.round(refusedMs)} ms, server peak ${Math.round(peak)} MB, another user's worst page ${Math.round(worst)} ms`);
        expect(peak).toBeLessThan(300);
      }
    } finally {
      await stopServer(server);
      console.log(figures.join("\n"));
    }
  });

  test("a backup restored into another folder: every file still downloads", async () => {
    const dir = freshCopy();
    const server = await startServer(dir, {}, FAST);
    const cookie = await signIn(server.base, RPA);
    expect((await uploadTo(server, cookie, filled)).status).toBe(200);
    await until(jobEnded(dir, "import_jobs", 1));
    const copy = join(dir, "copia.db");
    expect(run(dir, ["backup", "--out", copy]).exitCode).toBe(0);
    await stopServer(server);

    const elsewhere = mkdtempSync(join(tmpdir(), "placement-restored-"));
    dirs.push(elsewhere);
    // The copy and the files are sealed: without the data key they are refused, with it they open.
    const keyless = run(dir, ["restore", copy], { DATA_DIR: elsewhere });
    expect(keyless.exitCode).toBe(1);
    expect(keyless.stderr.trim().split("\n")).toHaveLength(1);
    const key = { DATA_KEY_FILE: join(dir, "data", "placement.key") };
    const restored = run(dir, ["restore", copy], { DATA_DIR: elsewhere, ...key });
    expect(restored.exitCode).toBe(0);
    for (const folder of ["exports", "uploads", "outcomes"]) cpSync(join(dir, "data", folder), join(elsewhere, folder), { recursive: true });
    const moved = await startServer(dir, { DATA_DIR: elsewhere, ...key }, FAST);
    try {
      const again = await signIn(moved.base, RPA);
      for (const url of ["/placement/prenotazioni/1/file", "/placement/caricamenti/1/esito"]) {
        expect({ url, status: (await fetch(`${moved.base}${url}`, { headers: { Cookie: again } })).status }).toEqual({ url, status: 200 });
      }
    } finally {
      await stopServer(moved);
    }
  });
});
