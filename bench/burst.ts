// bun run bench:burst — deadline day: every agency uploads a filled file at the same moment,
// through HTTP, against the same uploads made one at a time; each side is the real program
// (`placement serve`) in its own process on its own copy of the data. Not a test: it prints figures.
import { newKeyText } from "../src/services/sealed-files.ts";
import { Database } from "bun:sqlite";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataPaths, loadConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { systemClock } from "../src/services/clock.ts";
import { generateDataset } from "../src/services/demo-data.ts";
import { csrfToken, signIn } from "../tests/helpers/http.ts";
import { unusedPort } from "../tests/helpers/ports.ts";
import { latencyRun, percentile, table, writeFilledFile } from "./lib.ts";

const AGENCIES = Number(process.env.BENCH_AGENCIES ?? 80);
const ROWS = Number(process.env.BENCH_ROWS ?? 5_000);
const STARTS = Math.min(20, AGENCIES);
// A clerk reading pages, not a load test: the probe pauses between requests.
const PAUSE_MS = 50;
const MAIN = join(import.meta.dir, "../src/main.ts");

type Clerk = { agencyId: number; email: string; cookie: string; token: string; file: string };
type JobTimes = { id: number; status: string; created_at: number; started_at: number | null; finished_at: number | null };

// The data folders are made here, not by a first start: the program is given its key.
const BENCH_KEY = newKeyText();

/** The real program on a copy of the data, with its own runners. */
async function startServer(dataDir: string) {
  const port = unusedPort();
  const child = Bun.spawn(["bun", MAIN, "serve"], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), DATA_KEY: BENCH_KEY },
    stdout: "ignore",
    stderr: "ignore",
  });
  const base = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (tries > 300) throw new Error("the server did not start");
    await Bun.sleep(100);
  }
  return {
    base,
    db: new Database(join(dataDir, "placement.db"), { readonly: true }),
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

async function clerksOf(base: string, dataDir: string, files: Map<number, string>): Promise<Clerk[]> {
  const db = new Database(join(dataDir, "placement.db"), { readonly: true });
  const users = db.query("SELECT agency_id, min(email) AS email FROM users WHERE role = 'rpa' GROUP BY agency_id ORDER BY agency_id").all() as {
    agency_id: number;
    email: string;
  }[];
  db.close();
  const clerks: Clerk[] = [];
  for (const user of users) {
    const cookie = await signIn(base, user.email);
    clerks.push({ agencyId: user.agency_id, email: user.email, cookie, token: await csrfToken(base, cookie), file: files.get(user.agency_id)! });
  }
  return clerks;
}

/** One upload through the page's form; the job's id, or null when refused. */
async function upload(base: string, clerk: Clerk): Promise<number | null> {
  const form = new FormData();
  form.set("anno", "2019");
  form.set("file", new File([await Bun.file(clerk.file).arrayBuffer()], "compilato.xlsx"));
  const response = await fetch(`${base}/placement/caricamenti`, {
    method: "POST",
    body: form,
    headers: { Cookie: clerk.cookie, "X-CSRF-Token": clerk.token, "HX-Request": "true" },
  });
  const html = await response.text();
  if (response.status !== 200) return null;
  return Number(html.match(/caricamenti\/(\d+)/)?.[1] ?? NaN) || null;
}

const jobTimes = (db: Database, ids: number[]) =>
  db.query(`SELECT id, status, created_at, started_at, finished_at FROM import_jobs WHERE id IN (${ids.join(",")})`).all() as JobTimes[];

/** Waits until every job has ended; their times. */
async function ended(db: Database, ids: number[]): Promise<JobTimes[]> {
  for (;;) {
    const jobs = jobTimes(db, ids);
    if (jobs.length === ids.length && jobs.every((j) => j.finished_at !== null)) return jobs;
    await Bun.sleep(50);
  }
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), "placement-bench-burst-"));
  try {
    const prepared = join(root, "prepared");
    mkdirSync(prepared);
    const config = loadConfig({ DATA_DIR: prepared });
    const db = openDatabase(dataPaths(config).database);
    migrate(db);
    console.log(`generating ${AGENCIES} agencies of ${ROWS} enrollments and their filled files…`);
    await generateDataset(db, systemClock, { agencies: AGENCIES, enrollments: AGENCIES * ROWS });
    const files = new Map<number, string>();
    mkdirSync(join(root, "files"));
    for (const { id } of db.$client.query("SELECT id FROM agencies ORDER BY id").all() as { id: number }[]) {
      const path = join(root, "files", `${id}.xlsx`);
      await writeFilledFile(db, id, path);
      files.set(id, path);
    }
    db.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
    db.$client.close();
    // Each side starts from the same data, so that both apply the same changes.
    const copy = (name: string) => {
      const dir = join(root, name);
      mkdirSync(dir);
      copyFileSync(join(prepared, "placement.db"), join(dir, "placement.db"));
      return dir;
    };
    const serialDir = copy("serial");
    const burstDir = copy("burst");
    rmSync(prepared, { recursive: true, force: true });

    // One at a time: each upload waits for the previous outcome.
    const serial = await startServer(serialDir);
    const serialClerks = await clerksOf(serial.base, serialDir, files);
    let serialMs = 0;
    let errors = 0;
    const singles: JobTimes[] = [];
    const answers: number[] = [];
    for (const clerk of serialClerks) {
      const started = performance.now();
      const id = await upload(serial.base, clerk);
      answers.push(performance.now() - started);
      if (id === null) {
        errors++;
        continue;
      }
      const [job] = await ended(serial.db, [id]);
      serialMs += performance.now() - started;
      if (job!.status === "failed") errors++;
      singles.push(job!);
    }
    serial.db.close();
    await serial.stop();

    // All at once, while a signed-in clerk keeps opening a page.
    const burst = await startServer(burstDir);
    const burstClerks = await clerksOf(burst.base, burstDir, files);
    const watcher = burstClerks[0]!;
    const idle = await latencyRun(burst.base, "/placement", watcher.cookie, { count: 200, pauseMs: PAUSE_MS });
    const started = performance.now();
    const done = (async () => {
      const ids = await Promise.all(burstClerks.map((clerk) => upload(burst.base, clerk)));
      errors += ids.filter((id) => id === null).length;
      const jobs = await ended(burst.db, ids.filter((id): id is number => id !== null));
      errors += jobs.filter((j) => j.status === "failed").length;
      return performance.now() - started;
    })();
    const busy = await latencyRun(burst.base, "/placement", watcher.cookie, { until: done, minCount: 50, pauseMs: PAUSE_MS });
    const burstMs = await done;
    burst.db.close();
    await burst.stop();

    // On an idle queue: from the upload's queueing to its job's start, against the job itself.
    const first = singles.slice(0, STARTS);
    const waits = first.map((j) => j.started_at! - j.created_at);
    const runs = first.map((j) => j.finished_at! - j.started_at!);
    const startRatio = percentile(waits, 50) / percentile(runs, 50);
    const parallelRatio = burstMs / serialMs;
    const p99Ratio = percentile(busy, 99) / percentile(idle, 99);
    const runners = process.env.JOB_RUNNERS ?? "the default";
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(`\n${AGENCIES} agencies each upload a filled ${ROWS}-row xlsx through HTTP (JOB_RUNNERS: ${runners})\n`);
    console.log(
      table(
        ["", "ms"],
        [
          ["one at a time: the sum of upload to outcome", serialMs.toFixed(0)],
          ["all at once: first upload to last outcome", burstMs.toFixed(0)],
          ["ratio (target ≤ 0.65)", ratio(burstMs, serialMs)],
        ],
      ),
    );
    console.log(`\non an idle queue, ${first.length} single uploads\n`);
    console.log(
      table(
        ["", "median ms"],
        [
          ["the upload's answer (the file's checks while the clerk waits)", percentile(answers, 50).toFixed(0)],
          ["queued to started", percentile(waits, 50).toFixed(0)],
          ["the job", percentile(runs, 50).toFixed(0)],
          ["ratio (target ≤ 0.1)", startRatio.toFixed(2)],
        ],
      ),
    );
    console.log(`\nGET /placement signed in: ${idle.length} requests idle, ${busy.length} during the burst\n`);
    console.log(
      table(
        ["", "p50 ms", "p99 ms"],
        [
          ["idle", percentile(idle, 50).toFixed(1), percentile(idle, 99).toFixed(1)],
          ["during the burst", percentile(busy, 50).toFixed(1), percentile(busy, 99).toFixed(1)],
          ["ratio (target p99 ≤ 2)", ratio(percentile(busy, 50), percentile(idle, 50)), p99Ratio.toFixed(2)],
        ],
      ),
    );
    console.log(`bench:burst parallel_ratio=${parallelRatio.toFixed(2)} p99_ratio=${p99Ratio.toFixed(2)} start_ratio=${startRatio.toFixed(2)} errors=${errors}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
