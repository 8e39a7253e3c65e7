import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { TRAINEE_COLUMNS } from "../../src/sheets/columns.ts";
import { writeSealed } from "../../src/services/sealed-files.ts";
import { parseInChild, PARSE_LIMITS } from "../../src/jobs/parse-runner.ts";
import { sharedStringFile } from "../helpers/bad-files.ts";
import { childProcesses, zombies } from "../helpers/processes.ts";
import { signedIn, tables, upload } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp, type TestClient } from "../helpers/test-app.ts";

// The child process reads for real; a refused file is refused within its own limits.
setDefaultTimeout(120_000);

let t: TestApp;
let clerk: TestClient;

beforeAll(async () => {
  t = await createTestApp();
  clerk = await signedIn(t, fixtures(t.db).rpaA);
});
afterAll(() => t.close());

const headers = TRAINEE_COLUMNS.map((c) => c.header);
const residentMb = () => process.memoryUsage().rss / 1024 / 1024;

describe("what a hostile file makes the reading child write is bounded in the server", () => {
  test("a few kilobytes whose 4 MB shared string fills the header are refused at upload, the server barely growing", async () => {
    const bomb = sharedStringFile(headers, "a".repeat(3_900_000), { rows: 200, columns: 60, inHeader: true });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const before = residentMb();
    const answer = await upload(clerk, bomb as Uint8Array<ArrayBuffer>, "bomba.xlsx");
    expect(answer.status).toBe(422);
    expect(answer.html).toContain("una cella ha più di 32.767 caratteri");
    expect(residentMb() - before).toBeLessThan(120);
  });

  test("long texts repeated in every cell are read once each; past the output's limit the file is refused", async () => {
    const bomb = sharedStringFile(headers, "b".repeat(30_000), { rows: 3_000, columns: 60 });
    const answer = await upload(clerk, bomb as Uint8Array<ArrayBuffer>, "ripetuto.xlsx");
    expect(answer.status).toBe(200);
    const before = residentMb();
    await drainUploads(t.deps);
    const job = tables(t).one<{ status: string; error: string }>("SELECT status, error FROM import_jobs ORDER BY id DESC LIMIT 1");
    expect(job.status).toBe("failed");
    expect(job.error).toContain("molto più testo di un foglio di Placement");
    console.log("server growth MB", Math.round(residentMb() - before));
    expect(residentMb() - before).toBeLessThan(200);
  });

  test("a line longer than a row can be, or anything but a message, stops the child and refuses the file", async () => {
    const long = sharedStringFile(headers, "c".repeat(30_000), { rows: 2, columns: 60 });
    const path = `${t.dir}/lunga.xlsx`;
    writeSealed(path, t.deps.keys[0]!, long);
    const messages = [];
    for await (const m of parseInChild(path, { headerOnly: false, limits: PARSE_LIMITS.full, keys: t.deps.keys, output: { lineBytes: 64 * 1024, totalBytes: 1024 * 1024 } })) messages.push(m);
    expect(messages.at(-1)).toMatchObject({ t: "error", message: expect.stringContaining("molto più testo") });
    expect(zombies()).toEqual([]);
  });
});

describe("uploads at the same moment", () => {
  test("are checked two at a time, each in turn, so that their reading processes cannot add up", async () => {
    const file = sharedStringFile(headers, "d".repeat(20_000), { rows: 400, columns: 20 }) as Uint8Array<ArrayBuffer>;
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, childProcesses().filter((p) => p.command.includes("--header-only")).length);
        await Bun.sleep(2);
      }
    })();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(clerk, file, `insieme-${i}.xlsx`)));
    sampling = false;
    await sampler;
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });
});

describe("every reading child is waited for", () => {
  test("uploads failing on what the child reports leave no zombie process", async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await upload(clerk, new TextEncoder().encode(`${headers.join(";")}\r\n`) as Uint8Array<ArrayBuffer>, `solo-intestazione-${i}.csv`);
      expect(answer.status).toBe(200);
      const job = tables(t).one<{ file_path: string }>("SELECT file_path FROM import_jobs ORDER BY id DESC LIMIT 1");
      // The file changes on disk after the upload: the child reports it unreadable.
      await Bun.write(`${t.dir}/${job.file_path}`, "\u0000\u0001 non più un foglio");
      await drainUploads(t.deps);
      expect(tables(t).one<{ status: string }>("SELECT status FROM import_jobs ORDER BY id DESC LIMIT 1").status).toBe("failed");
    }
    await Bun.sleep(200);
    expect(zombies()).toEqual([]);
  });
});
