// bun run bench:import — our whole import job against a bare SheetJS read of the same
// filled file, plus the latency of a signed-in page while the import runs.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as XLSX from "xlsx";
import { createApp } from "../src/app.tsx";
import { createDeps } from "../src/deps.ts";
import { dataPaths, loadConfig } from "../src/config.ts";
import { openDatabase, type Db } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { drainUploads } from "../src/jobs/uploads.ts";
import { silentLogger, type Logger } from "../src/log.ts";
import { systemClock } from "../src/services/clock.ts";
import { generateDataset } from "../src/services/demo-data.ts";
import { traineeFileContext, traineeRows } from "../src/services/exports.ts";
import { dataFile, storedName } from "../src/services/data-files.ts";
import { queueUpload } from "../src/services/uploads.ts";
import { writeTraineeFile } from "../src/sheets/trainee-file.ts";
import { signIn } from "../tests/helpers/http.ts";
import { latencyRun, percentile, table } from "./lib.ts";

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 100_000);
const ALL_TYPES = ["BASE", "PROF", "OTJ", "CONT", "QUAL", "RIQ"];

type RunResult = { ms: number; peakMb: number; rows: number };

/** The exported file with a fascia debole and placement filled in for most mixed-class rows. */
async function writeFilledFile(db: Db, path: string): Promise<void> {
  const spec = { id: 1, agencyId: 1, year: 2019, trainingTypes: ALL_TYPES } as const;
  const context = traineeFileContext(db, spec as never, new Date());
  let i = 0;
  function* filled() {
    for (const row of traineeRows(db.$client, spec)) {
      i++;
      if (!row.homogeneous && i % 4 !== 0) row.fasciaDebole = i % 2 ? "GIOV" : "NO";
      yield row;
    }
  }
  const file = Bun.file(path).writer({ highWaterMark: 1024 * 1024 });
  await writeTraineeFile("xlsx", filled(), context, (chunk) => void file.write(chunk));
  await file.end();
}

/** Child mode: one run in a fresh process, so that its peak memory is its own. */
async function runOne(kind: "ours" | "bare", dataDir: string, filePath: string): Promise<RunResult> {
  const started = performance.now();
  if (kind === "bare") {
    const workbook = XLSX.read(await Bun.file(filePath).arrayBuffer(), { dense: true });
    const rows = XLSX.utils.sheet_to_json(workbook.Sheets["Allievi"]!, { header: 1 });
    return { ms: performance.now() - started, peakMb: process.resourceUsage().maxRSS / 1024, rows: rows.length - 1 };
  }
  const config = loadConfig({ DATA_DIR: dataDir });
  const db = openDatabase(dataPaths(config).database);
  let result: { total?: number; parsePeakMb?: number } = {};
  const log: Logger = { ...silentLogger, info: (message, fields) => void (message === "import finished" && (result = fields as typeof result)) };
  await drainUploads(createDeps({ db, config, log }));
  const ms = performance.now() - started;
  // Peaks of this process (job thread and worker) and of the parsing child, which overlap in time.
  const peakMb = process.resourceUsage().maxRSS / 1024 + (result.parsePeakMb ?? 0);
  return { ms, peakMb, rows: result.total ?? 0 };
}

function measure(kind: "ours" | "bare", dataDir: string, filePath: string): RunResult {
  const child = Bun.spawnSync(["bun", import.meta.path, "--child", kind, dataDir, filePath], { stderr: "inherit" });
  if (child.exitCode !== 0) throw new Error(`${kind} run failed`);
  return JSON.parse(child.stdout.toString()) as RunResult;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "placement-bench-import-"));
  try {
    const config = loadConfig({ DATA_DIR: dataDir });
    const db = openDatabase(dataPaths(config).database);
    migrate(db);
    console.log(`generating ${ENROLLMENTS} enrollments and the filled file…`);
    await generateDataset(db, systemClock, { agencies: 1, enrollments: ENROLLMENTS });
    // Rows name their files relative to the data folder, as uploads are stored.
    const stored = storedName("uploads", "filled.xlsx");
    const filePath = dataFile(config, stored);
    mkdirSync(dataPaths(config).uploads, { recursive: true });
    await writeFilledFile(db, filePath);
    const user = db.$client.query("SELECT id, email FROM users WHERE role = 'rpa'").get() as { id: number; email: string };
    const size = Bun.file(filePath).size;
    const queue = () =>
      queueUpload(db, systemClock, {
        agencyId: 1,
        userId: user.id,
        year: 2019,
        fileName: "filled.xlsx",
        filePath: stored,
        fileSha256: "bench",
        fileFormat: "xlsx",
        fileSize: size,
        sheetName: null,
      });

    const bare = measure("bare", dataDir, filePath);
    queue();
    const ours = measure("ours", dataDir, filePath);
    if (ours.rows !== bare.rows) throw new Error(`ours read ${ours.rows} rows, bare ${bare.rows}`);

    const deps = createDeps({ db, config, log: silentLogger });
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: createApp(deps).fetch });
    const base = `http://127.0.0.1:${server.port}`;
    const cookie = await signIn(base, user.email);
    const idle = await latencyRun(base, "/placement", cookie, { count: 300 });
    queue();
    const importing = drainUploads(deps);
    const busy = await latencyRun(base, "/placement", cookie, { until: importing, minCount: 50 });
    await importing;
    server.stop(true);
    db.$client.close();

    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    const p99Ratio = percentile(busy, 99) / percentile(idle, 99);
    console.log(`\nimport of a filled ${ENROLLMENTS}-row xlsx (${(size / 1024 / 1024).toFixed(1)} MB), each run in its own process\n`);
    console.log(
      table(
        ["", "time ms", "peak RSS MB"],
        [
          ["bare SheetJS read + sheet_to_json (dense)", bare.ms.toFixed(0), bare.peakMb.toFixed(0)],
          ["ours: parse, validate, apply, outcome rows and file", ours.ms.toFixed(0), ours.peakMb.toFixed(0)],
          ["ratio ours / bare (targets 1.3 and 1.2)", ratio(ours.ms, bare.ms), ratio(ours.peakMb, bare.peakMb)],
        ],
      ),
    );
    console.log(`\nGET /placement signed in: ${idle.length} requests idle, ${busy.length} during the import\n`);
    console.log(
      table(
        ["", "p50 ms", "p99 ms"],
        [
          ["idle", percentile(idle, 50).toFixed(1), percentile(idle, 99).toFixed(1)],
          ["during import", percentile(busy, 50).toFixed(1), percentile(busy, 99).toFixed(1)],
          ["ratio (target p99 ≤ 2)", ratio(percentile(busy, 50), percentile(idle, 50)), p99Ratio.toFixed(2)],
        ],
      ),
    );
    console.log(
      `bench:import time_ratio=${ratio(ours.ms, bare.ms)} memory_ratio=${ratio(ours.peakMb, bare.peakMb)} p99_ratio=${p99Ratio.toFixed(2)}`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  const [, , , kind, dataDir, filePath] = process.argv;
  console.log(JSON.stringify(await runOne(kind as "ours" | "bare", dataDir!, filePath!)));
} else {
  await main();
}
