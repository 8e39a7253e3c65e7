import { expect, setDefaultTimeout, test } from "bun:test";
import { openSync, closeSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PARSE_LIMITS } from "../../src/jobs/parse-runner.ts";
import { WorkerThreads, workerUrl, WORKER_NAMES, type WorkerName } from "../../src/jobs/worker-runner.ts";
import { childProcesses } from "../helpers/processes.ts";

setDefaultTimeout(30_000);

const fields = (stat: string) => stat.slice(stat.lastIndexOf(")") + 2).split(" ");
/** The nice value of a thread of this process, or of a process. */
const niceOf = (stat: string) => Number(fields(stat)[16]);
/** Its scheduling class: 5 is SCHED_IDLE, which gives way at once to the server's thread. */
const policyOf = (stat: string) => Number(fields(stat)[38]);
const SCHED_IDLE = 5;
// A thread that ended since it was listed (zlib's, another test's worker) is left out.
const threads = () =>
  readdirSync(`/proc/${process.pid}/task`).flatMap((tid) => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, "utf8");
    } catch {
      return [];
    }
    return [{ tid, name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), nice: niceOf(stat), policy: policyOf(stat) }];
  });

test("a job's worker thread and every thread of the process that reads the file run below the pages' priority, in the class that gives way at once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "placement-priority-"));
  try {
    // A FIFO holds the reading child until the test has looked at it.
    const fifo = join(dir, "caricato.csv");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const workers = new WorkerThreads();
    const check = workers.run("upload-check-worker", { path: fifo, kind: "trainees", limits: PARSE_LIMITS.header }, () => {});
    let reader: { pid: number } | undefined;
    while (!(reader = childProcesses().find((p) => p.command.includes("parse-upload")))) await Bun.sleep(20);
    while (niceOf(readFileSync(`/proc/${reader.pid}/stat`, "utf8")) !== 10) await Bun.sleep(20);
    // Every thread of the child, the runtime's pool that inflates its file among them: the
    // child is started from the worker's lowered thread, whose priority it inherits.
    const childThreads = () =>
      readdirSync(`/proc/${reader!.pid}/task`).flatMap((tid) => {
        try {
          const stat = readFileSync(`/proc/${reader!.pid}/task/${tid}/stat`, "utf8");
          return [{ nice: niceOf(stat), policy: policyOf(stat) }];
        } catch {
          return [];
        }
      });
    // The runtime starts its other threads as it goes.
    while (childThreads().length < 2) await Bun.sleep(20);
    expect(childThreads().filter((t) => t.nice !== 10 || t.policy !== SCHED_IDLE)).toEqual([]);
    expect(threads().filter((t) => t.name === "Worker")).toContainEqual(expect.objectContaining({ nice: 10, policy: SCHED_IDLE }));
    // The server's own thread keeps its priority and its class.
    const own = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, "utf8");
    expect([niceOf(own), policyOf(own)]).toEqual([0, 0]);

    const writer = openSync(fifo, "w");
    writeSync(writer, "\ufeffCodice progetto;Codice aula\r\n");
    closeSync(writer);
    await check;
    workers.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A thread that writes the database, or that its writer waits for, must not be in the class
// that gives way to every other: on a busy host it would hold the write lock for as long.
const CLASSES: [WorkerName, number][] = [
  ["upload-check-worker", SCHED_IDLE],
  ["export-worker", SCHED_IDLE],
  ["upload-worker", 0],
  ["upload-apply-worker", 0],
  ["master-data-worker", 0],
];

test("every worker is listed below", () => {
  expect(CLASSES.map(([name]) => name).sort()).toEqual([...WORKER_NAMES].sort());
});

test.each(CLASSES)("the %s thread runs at nice 10 in scheduling class %d", async (name, policy) => {
  const before = new Set(threads().map((t) => t.tid));
  const worker = new Worker(workerUrl(name));
  try {
    let lowered: ReturnType<typeof threads>[number] | undefined;
    while (!(lowered = threads().find((t) => !before.has(t.tid) && t.name === "Worker" && t.nice === 10))) await Bun.sleep(10);
    expect(lowered.policy).toBe(policy);
  } finally {
    worker.terminate();
  }
});

test("a spawned process reports its own peak memory, not the one it inherits from a large parent", () => {
  const ballast = Buffer.alloc(400 * 1024 * 1024, 1);
  const script = `import { peakResidentMb } from ${JSON.stringify(join(import.meta.dir, "../../src/jobs/priority.ts"))}; console.log(peakResidentMb(), process.resourceUsage().maxRSS / 1024);`;
  const run = Bun.spawnSync([process.execPath, "-e", script]);
  const [own, inherited] = run.stdout.toString().trim().split(" ").map(Number) as [number, number];
  expect(ballast[ballast.length - 1]).toBe(1);
  // getrusage's maxRSS carries the parent's 400 MB into the child; VmHWM is the child's own.
  expect(inherited).toBeGreaterThan(400);
  expect(own).toBeLessThan(200);
});
