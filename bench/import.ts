// bun run bench:import — our whole import job against the readers a Node engineer would
// pick and the floor, each in its own process on the same filled file, plus the latency of
// a signed-in page while the import runs.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/app.tsx";
import { createDeps } from "../src/deps.ts";
import { resolveKeys, writeSealed } from "../src/services/sealed-files.ts";
import { dataPaths, loadConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { drainUploads } from "../src/jobs/uploads.ts";
import { silentLogger } from "../src/log.ts";
import { systemClock } from "../src/services/clock.ts";
import { generateDataset } from "../src/services/demo-data.ts";
import { dataFile, storedName } from "../src/services/data-files.ts";
import { queueUpload } from "../src/services/uploads.ts";
import type { RunResult } from "./import-run.ts";
import { signIn } from "../tests/helpers/http.ts";
import { latencyRun, percentile, table, writeFilledFile } from "./lib.ts";

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 100_000);

const KINDS = {
  sheetjs: "bare SheetJS read + sheet_to_json (dense)",
  exceljs: "exceljs stream.xlsx.WorkbookReader",
  floor: "floor: native inflate of the sheet + one pass over its rows",
  sealing: "sealing alone: the stored upload unsealed and as many bytes sealed (part of ours)",
  ours: "ours: parse, validate, apply, outcome rows and file (the upload unsealed, the outcome sealed)",
} as const;
type Kind = keyof typeof KINDS;
function measure(kind: Kind, dataDir: string, filePath: string): RunResult {
  const child = Bun.spawnSync(["bun", join(import.meta.dir, "import-run.ts"), kind, dataDir, filePath], { stderr: "inherit" });
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
    // Rows name their files relative to the data folder, as uploads are stored: sealed, as
    // the upload form stores them; the peers read the same file plain.
    const stored = storedName("uploads", "filled.sealed");
    const filePath = join(dataDir, "filled.xlsx");
    mkdirSync(dataPaths(config).uploads, { recursive: true });
    await writeFilledFile(db, 1, filePath);
    writeSealed(dataFile(config, stored), resolveKeys(config, false).keys[0]!, new Uint8Array(await Bun.file(filePath).arrayBuffer()));
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

    const results = {} as Record<Kind, RunResult>;
    for (const kind of Object.keys(KINDS) as Kind[]) {
      if (kind === "ours") queue();
      results[kind] = measure(kind, dataDir, filePath);
    }
    const { sheetjs, exceljs: peer, floor: least, ours } = results;
    for (const kind of Object.keys(KINDS) as Kind[]) {
      if (results[kind].rows !== ours.rows) throw new Error(`${kind} read ${results[kind].rows} rows, ours ${ours.rows}`);
    }

    const deps = createDeps({ db, config, log: silentLogger, keys: resolveKeys(config, false).keys });
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
          ...(Object.keys(KINDS) as Kind[]).map((kind) => [KINDS[kind], results[kind].ms.toFixed(0), results[kind].peakMb.toFixed(0)]),
          ["ours / exceljs (target ≤ 0.5)", ratio(ours.ms, peer.ms), ratio(ours.peakMb, peer.peakMb)],
          ["ours / SheetJS (targets ≤ 0.35 and ≤ 0.5)", ratio(ours.ms, sheetjs.ms), ratio(ours.peakMb, sheetjs.peakMb)],
          ["ours / floor (target ≤ 4)", ratio(ours.ms, least.ms), ""],
          ["ours / ours less sealing (target ≤ 1.15)", ratio(ours.ms, ours.ms - results.sealing.ms), ""],
        ],
      ),
    );
    const stages = ours.stages!;
    console.log(`\nour job, step by step (ms; the first round of judging runs while the child reads, the apply while the outcome file is written)\n`);
    console.log(
      table(
        ["parse (the child's own time)", "judge", "outcome file", "apply", "whole job"],
        [[String(stages.parse), String(stages.judge), String(stages.outcome), String(stages.apply), ours.ms.toFixed(0)]],
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
    console.log(`bench:seal import_cost_ratio=${ratio(ours.ms, ours.ms - results.sealing.ms)}`);
    console.log(
      `bench:import exceljs_time_ratio=${ratio(ours.ms, peer.ms)} sheetjs_time_ratio=${ratio(ours.ms, sheetjs.ms)} memory_ratio=${ratio(ours.peakMb, sheetjs.peakMb)} floor_ratio=${ratio(ours.ms, least.ms)} p99_ratio=${p99Ratio.toFixed(2)}`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
