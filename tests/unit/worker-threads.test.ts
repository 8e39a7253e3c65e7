import { expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PARSE_LIMITS } from "../../src/jobs/parse-runner.ts";
import type { HeaderWorkerResult } from "../../src/jobs/upload-check-worker.ts";
import { WorkerThreads } from "../../src/jobs/worker-runner.ts";
import { keyOf, newKeyText, writeSealed } from "../../src/services/sealed-files.ts";
import { childProcesses } from "../helpers/processes.ts";

setDefaultTimeout(30_000);

/** The name of a thread of this process; a thread that ended since it was listed has none. */
const threadName = (tid: string) => {
  try {
    return readFileSync(`/proc/${process.pid}/task/${tid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
};

/** Worker threads of this process, by thread id. */
const workerThreads = () => readdirSync(`/proc/${process.pid}/task`).filter((tid) => threadName(tid) === "Worker");

async function settled(check: () => boolean) {
  while (!check()) await Bun.sleep(10);
}

test("a worker that finished waits for the next job of its kind; one that was stopped is never used again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "placement-workers-"));
  const workers = new WorkerThreads();
  // Other tests' idle workers may end meanwhile; only the threads started here count.
  const before = new Set(workerThreads());
  const started = () => workerThreads().filter((tid) => !before.has(tid));
  try {
    const file = join(dir, "caricato.csv");
    const key = keyOf(newKeyText());
    writeSealed(file, key, new TextEncoder().encode("\ufeffCodice progetto;Codice aula\r\nP1;A1\r\n"));
    const check = () => workers.run<object, HeaderWorkerResult>("upload-check-worker", { path: file, kind: "trainees", limits: PARSE_LIMITS.header, keys: [key] }, () => {});

    expect(await check()).toMatchObject({ ok: true, header: ["Codice progetto", "Codice aula"] });
    const first = started();
    expect(first.length).toBe(1);
    expect(await check()).toMatchObject({ ok: true });
    expect(started()).toEqual(first);

    // Stopped while its child waits for a file that never ends (a FIFO held open and silent):
    // the worker is ended, not kept.
    const fifo = join(dir, "fermo.csv");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const holder = Bun.spawn(["sh", "-c", `exec 3>"${fifo}"; sleep 60`]);
    const stop = new AbortController();
    const readers = () => childProcesses().filter((p) => p.command.includes("parse-upload")).length;
    // The program's settings are not the reading child's: it never holds the data key.
    process.env.DATA_KEY = "not-for-the-child";
    const stopped = workers.run("upload-check-worker", { path: fifo, kind: "trainees", limits: PARSE_LIMITS.header, keys: [key] }, () => {}, stop.signal);
    await settled(() => readers() === 1);
    delete process.env.DATA_KEY;
    const reader = childProcesses().find((p) => p.command.includes("parse-upload"))!;
    const environment = readFileSync(`/proc/${reader.pid}/environ`, "utf8");
    expect(environment).not.toContain("not-for-the-child");
    expect(environment).toContain("PATH=");
    stop.abort(new Error("fermato"));
    // Not `expect(stopped).rejects`: bun waits for the promise there without taking the worker's messages.
    const reason = await stopped.then(() => null, (error: Error) => error);
    expect(reason?.message).toBe("fermato");
    await settled(() => started().length === 0);
    holder.kill();
    await holder.exited;

    // The next job starts a new worker; closing ends the idle ones.
    expect(await check()).toMatchObject({ ok: true });
    const second = started();
    expect(second.length).toBe(1);
    expect(second).not.toEqual(first);
    workers.close();
    await settled(() => started().length === 0);
  } finally {
    workers.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
