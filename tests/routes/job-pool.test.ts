import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { dataPaths } from "../../src/config.ts";
import { drainUploads, uploadQueue } from "../../src/jobs/uploads.ts";
import { dataFile, storedName } from "../../src/services/data-files.ts";
import { writeSealed } from "../../src/services/sealed-files.ts";
import { JobPool } from "../../src/jobs/pool.ts";
import { claimNext, completeJob, progressRecorder, runClaimed, type Claim, type QueueKind } from "../../src/jobs/queue.ts";
import { silentLogger } from "../../src/log.ts";
import { bookAndDownload, signedIn, tables, upload } from "../helpers/flows.ts";
import { childProcesses } from "../helpers/processes.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

setDefaultTimeout(60_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;

beforeAll(async () => {
  t = await createTestApp({ enrollments: 4000 });
  f = fixtures(t.db);
});
afterAll(() => t.close());

const statusOf = (id: number) => tables(t).one<{ status: string; error: string | null }>("SELECT status, error FROM import_jobs WHERE id = ?", id);

function queueUpload(agencyId: number): number {
  const user = tables(t).one<{ id: number }>("SELECT id FROM users WHERE agency_id = ? LIMIT 1", agencyId).id;
  return Number(
    t.db.$client
      .query(
        `INSERT INTO import_jobs (agency_id, user_id, year, file_name, file_path, file_sha256, file_format, file_size, created_at)
         VALUES (?, ?, 2019, 'x.xlsx', 'uploads/x.xlsx', 'h', 'xlsx', 1, ?)`,
      )
      .run(agencyId, user, t.clock.now().getTime()).lastInsertRowid,
  );
}

/** A queue of uploads whose work the test decides: each job waits for its own go. */
function scriptedQueue(budgetMs: number) {
  const gates = new Map<number, () => void>();
  const started: number[] = [];
  const failed: string[] = [];
  const kind: QueueKind = {
    ...uploadQueue,
    budgetMs: () => budgetMs,
    run: (deps, claim: Claim, signal) =>
      new Promise<void>((resolve, reject) => {
        started.push(claim.id);
        signal.addEventListener("abort", () => reject(signal.reason));
        gates.set(claim.id, () => {
          completeJob(deps.db, "import_jobs", claim, deps.clock.now(), "done", {});
          resolve();
        });
      }),
    onFailed: (_deps, claim, reason) => void failed.push(`${claim.id}: ${reason}`),
  };
  return { kind, started, failed, go: (id: number) => gates.get(id)!() };
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 400 && !condition(); i++) await Bun.sleep(10);
  expect(condition()).toBe(true);
};

describe("the pool of job runners", () => {
  test("one agency's stuck job does not hold another's; an agency's own jobs still wait in order", async () => {
    const script = scriptedQueue(60_000);
    const pool = new JobPool(t.deps, [script.kind], 2);
    const stuck = queueUpload(f.agencyA.id);
    const first = queueUpload(f.agencyB.id);
    const second = queueUpload(f.agencyB.id);
    pool.wake();
    await until(() => script.started.length === 2);
    expect(script.started).toEqual([stuck, first]);
    // A runner is free after B's first job; B's second starts then, A's job still running.
    script.go(first);
    await until(() => script.started.length === 3);
    expect(script.started[2]).toBe(second);
    expect(statusOf(stuck).status).toBe("running");
    script.go(second);
    await until(() => statusOf(second).status === "done");
    script.go(stuck);
    await pool.stop();
    expect([stuck, first, second].map((id) => statusOf(id).status)).toEqual(["done", "done", "done"]);
  });

  test("a job past its time budget is stopped, failed for good with a sentence, and the people waiting told", async () => {
    const script = scriptedQueue(100);
    const id = queueUpload(f.agencyA.id);
    const claim = claimNext(t.db, "import_jobs", t.clock.now(), "agency")!;
    expect(claim.id).toBe(id);
    await runClaimed(t.deps, script.kind, claim);
    expect(statusOf(id).status).toBe("failed");
    expect(statusOf(id).error).toContain("ha superato il tempo massimo previsto per un file di queste dimensioni");
    expect(script.failed).toEqual([`${id}: ${statusOf(id).error}`]);
  });

  test("a real upload stopped past its budget stops its worker and its reading child, and changes nothing", async () => {
    const clerk = await signedIn(t, f.rpaA);
    const exported = await bookAndDownload(t, clerk);
    expect((await upload(clerk, exported)).status).toBe(200);
    const before = tables(t).all("SELECT * FROM enrollments ORDER BY id");
    const claim = claimNext(t.db, "import_jobs", t.clock.now(), "agency")!;
    await runClaimed(t.deps, { ...uploadQueue, budgetMs: () => 30 }, claim);
    expect(statusOf(claim.id).status).toBe("failed");
    expect(statusOf(claim.id).error).toContain("tempo massimo");
    expect(tables(t).all("SELECT * FROM enrollments ORDER BY id")).toEqual(before);
    const outcomes = join(t.dir, "outcomes");
    expect(existsSync(outcomes) ? readdirSync(outcomes).filter((n) => n.startsWith(`${claim.id}-`)) : []).toEqual([]);
    expect(childProcesses().filter((p) => p.command.includes("parse-upload"))).toEqual([]);
  });

  test("a file the job refuses at its header stops its reading child at once, however much of the file is left", async () => {
    // A header without the required columns and rows enough to fill the pipe to the job.
    const lines = ["Codice progetto;Cognome", ...Array.from({ length: 30_000 }, (_, i) => `P${i};${"ROSSI".repeat(20)}`)];
    const stored = storedName("uploads", "senza-colonne.csv");
    mkdirSync(dataPaths(t.deps.config).uploads, { recursive: true });
    writeSealed(dataFile(t.deps.config, stored), t.deps.keys[0]!, new TextEncoder().encode(`\ufeff${lines.join("\r\n")}\r\n`));
    const id = queueUpload(f.agencyA.id);
    t.db.$client.query("UPDATE import_jobs SET file_path = ?, file_format = 'csv' WHERE id = ?").run(stored, id);
    await drainUploads(t.deps);
    expect(statusOf(id).status).toBe("failed");
    expect(statusOf(id).error).toContain("Mancano le colonne");
    expect(childProcesses().filter((p) => p.command.includes("parse-upload"))).toEqual([]);
  });

  test("queueing a booking or an upload wakes the runners at once", async () => {
    let woken = 0;
    const wake = t.deps.jobs.wake;
    t.deps.jobs.wake = () => void woken++;
    try {
      const clerk = await signedIn(t, f.referentA);
      await clerk.post("/placement/prenotazioni", { tipologie: "BASE", anno: "2019", formato: "xlsx" });
      expect(woken).toBe(1);
      const refused = await clerk.post("/placement/prenotazioni", { anno: "2019", formato: "xlsx" });
      expect(refused.status).toBe(422);
      expect(woken).toBe(1);
    } finally {
      t.deps.jobs.wake = wake;
    }
  });
});

/**
 * Runs `work` while another connection holds the database's write lock, as a worker's apply
 * does, until `reached` says the work is at its write, and checks that the thread stayed
 * free meanwhile: a write that waited in SQLite's busy handler would hold this very thread,
 * and so the lock, until its 5 s timeout failed it.
 */
async function whileAnotherWrites<T>(work: () => Promise<T>, reached: () => boolean = () => true): Promise<T> {
  const other = new Database(dataPaths(t.deps.config).database);
  other.exec("BEGIN IMMEDIATE");
  let open = true;
  let ticks = 0;
  const ticking = setInterval(() => ticks++, 5);
  try {
    let settled = false;
    const pending = work().finally(() => (settled = true));
    await until(reached);
    const before = ticks;
    await Bun.sleep(100);
    expect(ticks).toBeGreaterThan(before);
    expect(settled).toBe(false);
    other.exec("COMMIT");
    open = false;
    return await pending;
  } finally {
    clearInterval(ticking);
    if (open) other.exec("ROLLBACK");
    other.close();
  }
}

describe("the server's thread while a job holds the write lock", () => {
  test("claiming the next job waits without holding the thread, then starts it", async () => {
    const script = scriptedQueue(60_000);
    const pool = new JobPool(t.deps, [script.kind], 1);
    const id = queueUpload(f.agencyA.id);
    await whileAnotherWrites(async () => {
      pool.wake();
      await until(() => script.started.length === 1);
    });
    expect(script.started).toEqual([id]);
    script.go(id);
    await pool.stop();
    expect(statusOf(id).status).toBe("done");
  });

  test("a job's progress is recorded once the lock is free, the last report and not an older one", async () => {
    const id = queueUpload(f.agencyB.id);
    const claim = claimNext(t.db, "import_jobs", t.clock.now(), "agency")!;
    expect(claim.id).toBe(id);
    const record = progressRecorder(t.db, "import_jobs", claim, silentLogger);
    const progress = () => tables(t).one<{ progress_done: number; progress_total: number }>("SELECT progress_done, progress_total FROM import_jobs WHERE id = ?", id);
    await whileAnotherWrites(async () => {
      record(1, 10);
      record(5, 10);
      record(7, 10);
      await until(() => progress().progress_done === 7);
    });
    await Bun.sleep(50);
    expect(progress()).toEqual({ progress_done: 7, progress_total: 10 });
    completeJob(t.db, "import_jobs", claim, t.clock.now(), "done", {});
  });

  test("an upload is queued once the lock is free, its answer as usual", async () => {
    const clerk = await signedIn(t, f.rpaA);
    const exported = await bookAndDownload(t, clerk);
    const before = tables(t).one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n;
    const uploads = dataPaths(t.deps.config).uploads;
    const stored = () => (existsSync(uploads) ? readdirSync(uploads).filter((n) => !n.startsWith("incoming-")).length : 0);
    const storedBefore = stored();
    // Held until the file is checked and stored: the job's row is written next.
    const answer = await whileAnotherWrites(() => upload(clerk, exported), () => stored() > storedBefore);
    expect(answer.status).toBe(200);
    expect(tables(t).one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n).toBe(before + 1);
    await drainUploads(t.deps);
  });

  test("uploads waiting to be queued do not hold the next upload's check", async () => {
    const clerk = await signedIn(t, f.rpaA);
    const exported = await bookAndDownload(t, clerk);
    const uploads = dataPaths(t.deps.config).uploads;
    const stored = () => (existsSync(uploads) ? readdirSync(uploads).filter((n) => !n.startsWith("incoming-")).length : 0);
    const storedBefore = stored();
    // Two files are checked at a time: the third is checked only if the first two gave their turn back.
    const answers = await whileAnotherWrites(
      () => Promise.all([1, 2, 3].map(() => upload(clerk, exported))),
      () => stored() === storedBefore + 3,
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await drainUploads(t.deps);
  });
});
