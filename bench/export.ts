// bun run bench:export — our export against a naive SheetJS export of the same rows,
// plus the latency of a signed-in page while an export runs. Not a test: it prints figures.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as XLSX from "xlsx";
import { createApp } from "../src/app.tsx";
import { createDeps } from "../src/deps.ts";
import { dataPaths, loadConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { drainExports } from "../src/jobs/exports.ts";
import { silentLogger } from "../src/log.ts";
import { systemClock } from "../src/services/clock.ts";
import { generateDataset } from "../src/services/demo-data.ts";
import { traineeFileContext, traineeRows } from "../src/services/exports.ts";
import { TRAINEE_COLUMNS, cellText } from "../src/sheets/columns.ts";
import { writeTraineeFile } from "../src/sheets/trainee-file.ts";
import { signIn } from "../tests/helpers/http.ts";
import { latencyRun, percentile, table } from "./lib.ts";

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 100_000);

type RunResult = { ms: number; bytes: number; peakMb: number };

/** Child mode: one export in a fresh process, so that its peak memory is its own. */
async function runOne(kind: "ours" | "naive", dataDir: string, jobId: number, out: string): Promise<RunResult> {
  const db = openDatabase(join(dataDir, "placement.db"), { readonly: true });
  const job = db.$client.query("SELECT * FROM export_jobs WHERE id = ?").get(jobId) as Record<string, unknown>;
  const spec = { agencyId: job.agency_id as number, year: job.year as number, trainingTypes: JSON.parse(job.training_types as string) };
  const started = performance.now();
  if (kind === "ours") {
    const context = traineeFileContext(db, { ...spec, id: jobId } as never, new Date());
    const file = Bun.file(out).writer({ highWaterMark: 1024 * 1024 });
    await writeTraineeFile("xlsx", traineeRows(db.$client, spec), context, (chunk) => void file.write(chunk));
    await file.end();
  } else {
    const aoa: string[][] = [TRAINEE_COLUMNS.map((c) => c.header)];
    for (const row of traineeRows(db.$client, spec)) aoa.push(TRAINEE_COLUMNS.map((c) => cellText(c, row)));
    const workbook = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(workbook, XLSX.utils.aoa_to_sheet(aoa, { dense: true }), "Allievi");
    await Bun.write(out, XLSX.write(workbook, { type: "buffer", bookType: "xlsx" }));
  }
  const ms = performance.now() - started;
  return { ms, bytes: statSync(out).size, peakMb: process.resourceUsage().maxRSS / 1024 };
}

async function measure(kind: "ours" | "naive", dataDir: string, jobId: number): Promise<RunResult> {
  const out = join(dataDir, `bench-${kind}.xlsx`);
  const child = Bun.spawnSync(["bun", import.meta.path, "--child", kind, dataDir, String(jobId), out], { stderr: "inherit" });
  if (child.exitCode !== 0) throw new Error(`${kind} run failed`);
  return JSON.parse(child.stdout.toString()) as RunResult;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "placement-bench-export-"));
  try {
    const config = loadConfig({ DATA_DIR: dataDir, PORT: "3999" });
    const db = openDatabase(dataPaths(config).database);
    migrate(db);
    console.log(`generating ${ENROLLMENTS} enrollments…`);
    await generateDataset(db, systemClock, { agencies: 1, enrollments: ENROLLMENTS });
    const agency = db.$client.query("SELECT id FROM agencies").get() as { id: number };
    const user = db.$client.query("SELECT id, email FROM users WHERE role = 'rpa'").get() as { id: number; email: string };
    const types = JSON.stringify(["BASE", "PROF", "OTJ", "CONT", "QUAL", "RIQ"]);
    const book = () =>
      (db.$client
        .query("INSERT INTO export_jobs (agency_id, user_id, year, training_types, format) VALUES (?, ?, 2019, ?, 'xlsx') RETURNING id")
        .get(agency.id, user.id, types) as { id: number }).id;
    const jobId = book();

    const naive = await measure("naive", dataDir, jobId);
    const ours = await measure("ours", dataDir, jobId);

    // Latency of a signed-in page, idle and while the export runs in its Worker.
    const deps = createDeps({ db, config, log: silentLogger });
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: createApp(deps).fetch });
    const base = `http://127.0.0.1:${server.port}`;
    const cookie = await signIn(base, user.email);
    const idle = await latencyRun(base, "/placement", cookie, { count: 300 });
    db.$client.query("DELETE FROM export_jobs").run();
    book();
    const exporting = drainExports(deps);
    const busy = await latencyRun(base, "/placement", cookie, { until: exporting, minCount: 50 });
    await exporting;
    server.stop(true);
    db.$client.close();

    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    const timeRatio = ours.ms / naive.ms;
    const sizeRatio = ours.bytes / naive.bytes;
    const memoryRatio = ours.peakMb / naive.peakMb;
    const p99Ratio = percentile(busy, 99) / percentile(idle, 99);
    console.log(`\nexport of ${ENROLLMENTS} rows to xlsx (each run in its own process)\n`);
    console.log(
      table(
        ["", "time ms", "file MB", "peak RSS MB"],
        [
          ["naive SheetJS (aoa_to_sheet + write, dense)", naive.ms.toFixed(0), mb(naive.bytes), naive.peakMb.toFixed(0)],
          ["ours (streaming writer)", ours.ms.toFixed(0), mb(ours.bytes), ours.peakMb.toFixed(0)],
          ["ratio ours / naive (target ≤ 0.5)", ratio(ours.ms, naive.ms), ratio(ours.bytes, naive.bytes), ratio(ours.peakMb, naive.peakMb)],
        ],
      ),
    );
    console.log(`\nGET /placement signed in: ${idle.length} requests idle, ${busy.length} during the export\n`);
    console.log(
      table(
        ["", "p50 ms", "p99 ms"],
        [
          ["idle", percentile(idle, 50).toFixed(1), percentile(idle, 99).toFixed(1)],
          ["during export", percentile(busy, 50).toFixed(1), percentile(busy, 99).toFixed(1)],
          ["ratio (target p99 ≤ 2)", ratio(percentile(busy, 50), percentile(idle, 50)), p99Ratio.toFixed(2)],
        ],
      ),
    );
    console.log(
      `bench:export time_ratio=${timeRatio.toFixed(2)} size_ratio=${sizeRatio.toFixed(2)} memory_ratio=${memoryRatio.toFixed(2)} p99_ratio=${p99Ratio.toFixed(2)}`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  const [, , , kind, dataDir, jobId, out] = process.argv;
  console.log(JSON.stringify(await runOne(kind as "ours" | "naive", dataDir!, Number(jobId), out!)));
} else {
  await main();
}
