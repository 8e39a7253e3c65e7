import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as XLSX from "xlsx";
import { bookAndDownload, signedIn } from "../helpers/flows.ts";
import { createTestApp, fixtures } from "../helpers/test-app.ts";

// Generous: a case that never ends is what this test catches, by this limit, not by a timing.
const LIMIT_MS = 240_000;
setDefaultTimeout(LIMIT_MS + 30_000);

const CASES = 400;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "placement-fuzz-"));
  const t = await createTestApp();
  try {
    const clerk = await signedIn(t, fixtures(t.db).rpaA);
    const xlsx = await bookAndDownload(t, clerk);
    writeFileSync(join(dir, "export.xlsx"), xlsx);
    // The same file as another program saves it, with a table of shared strings.
    writeFileSync(join(dir, "resaved.xlsx"), XLSX.write(XLSX.read(xlsx), { type: "buffer", bookType: "xlsx" }));
    writeFileSync(join(dir, "export.csv"), await bookAndDownload(t, clerk, "csv"));
  } finally {
    t.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test(`${CASES} damaged copies of real exports each end, accepted or refused, in bounded memory`, async () => {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "../helpers/fuzz-child.ts"), dir, "20201130", String(CASES)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), LIMIT_MS);
  const output = await new Response(child.stdout).text();
  clearTimeout(killer);
  await child.exited;
  const lines = output.trim().split("\n").map((line) => JSON.parse(line) as { i?: number; name?: string; result?: string; peakMb?: number });
  const cases = lines.filter((l) => l.i !== undefined);
  // A hang shows as the case after the last one reported.
  expect(cases.length, `case ${cases.length} did not end: ${await new Response(child.stderr).text()}`).toBe(CASES);
  expect(cases.some((c) => c.result!.startsWith("accepted"))).toBe(true);
  expect(cases.some((c) => c.result === "refused")).toBe(true);
  expect(lines.at(-1)!.peakMb!).toBeLessThan(1024);
  const tally = new Map<string, number>();
  for (const c of cases) tally.set(`${c.name}: ${c.result!.split(" ")[0]}`, (tally.get(`${c.name}: ${c.result!.split(" ")[0]}`) ?? 0) + 1);
  console.log([...tally].sort().map(([k, n]) => `${k} ${n}`).join("\n"));
});
