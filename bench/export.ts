// bun run bench:export — our export against the peers a Node engineer would pick, each
// in its own process on the same rows, plus the latency of a signed-in page while an
// export runs. Not a test: it prints figures.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import ExcelJS from "exceljs";
import * as XLSX from "xlsx";
import { createApp } from "../src/app.tsx";
import { createDeps } from "../src/deps.ts";
import { keyOf, newKeyText, resolveKeys, sealer } from "../src/services/sealed-files.ts";
import { dataPaths, loadConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { drainExports } from "../src/jobs/exports.ts";
import { silentLogger } from "../src/log.ts";
import { systemClock } from "../src/services/clock.ts";
import { generateDataset } from "../src/services/demo-data.ts";
import { traineeFileContext, traineeRows } from "../src/services/exports.ts";
import { consolidatedContext, consolidatedRows } from "../src/services/consolidated.ts";
import { writeConsolidatedFile } from "../src/sheets/consolidated-file.ts";
import { exportJobs } from "../src/db/schema.ts";
import { eq } from "drizzle-orm";
import { excelSerial } from "../src/sheets/cells.ts";
import { TRAINEE_COLUMNS, cellText, type TraineeRow } from "../src/sheets/columns.ts";
import { writeTraineeFile } from "../src/sheets/trainee-file.ts";
import { columnLetter, escapeXml } from "../src/sheets/xlsx-writer.ts";
import { DEFLATE_LEVEL } from "../src/sheets/zip-writer.ts";
import { signIn } from "../tests/helpers/http.ts";
import { peakResidentMb } from "../src/jobs/priority.ts";
import { latencyRun, percentile, table } from "./lib.ts";

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 100_000);
// The fund's file of every agency's data (dati acquisiti), on a fund of this size.
const FUND_ENROLLMENTS = Number(process.env.BENCH_FUND_ENROLLMENTS ?? 1_000_000);
const FUND_AGENCIES = 80;

const KINDS = {
  read: "the database read alone (every peer below includes it)",
  naive: "naive SheetJS (aoa_to_sheet + write, dense, stored)",
  sheetjs: "SheetJS with compression",
  exceljs: "exceljs stream.xlsx.WorkbookWriter",
  floor: "floor: sheet XML built in memory + native deflate",
  unsealed: "ours without sealing (to measure what sealing costs)",
  ours: "ours (streaming writer, native deflate, sealed as the program stores it)",
} as const;
type Kind = keyof typeof KINDS;
type RunResult = { ms: number; bytes: number; peakMb: number };

const textOf = (row: TraineeRow) => TRAINEE_COLUMNS.map((c) => cellText(c, row));

/** The floor: the same cells as one sheet XML string, then native deflate at our level; no zip, no library. */
function floor(rows: Iterable<TraineeRow>): Uint8Array {
  const letters = TRAINEE_COLUMNS.map((_, i) => columnLetter(i));
  const parts: string[] = [];
  let r = 1;
  for (const row of rows) {
    r++;
    let xml = `<row r="${r}">`;
    TRAINEE_COLUMNS.forEach((column, i) => {
      const value = row[column.key];
      if (value === null) return;
      xml +=
        column.kind === "date"
          ? `<c r="${letters[i]}${r}" s="3"><v>${excelSerial(value as string)}</v></c>`
          : `<c r="${letters[i]}${r}" s="2" t="inlineStr"><is><t>${escapeXml(cellText(column, row))}</t></is></c>`;
    });
    parts.push(`${xml}</row>`);
  }
  return deflateRawSync(Buffer.from(`<sheetData>${parts.join("")}</sheetData>`), { level: DEFLATE_LEVEL });
}

async function exceljs(rows: Iterable<TraineeRow>, out: string): Promise<void> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: out, useStyles: true, useSharedStrings: false });
  const sheet = workbook.addWorksheet("Allievi");
  sheet.columns = TRAINEE_COLUMNS.map((c) => ({ header: c.header, key: c.key, width: c.width, style: c.kind === "date" ? { numFmt: "dd/mm/yyyy" } : { numFmt: "@" } }));
  for (const row of rows) {
    sheet.addRow(TRAINEE_COLUMNS.map((c) => (c.kind === "date" && row[c.key] ? new Date(row[c.key] as string) : cellText(c, row) || null))).commit();
  }
  sheet.commit();
  await workbook.commit();
}

/** Child mode: one export in a fresh process, so that its peak memory is its own. */
async function runOne(kind: Kind | "consolidated", dataDir: string, jobId: number, out: string): Promise<RunResult & { rows?: number }> {
  const db = openDatabase(join(dataDir, "placement.db"), { readonly: true });
  if (kind === "consolidated") {
    const job = db.select().from(exportJobs).where(eq(exportJobs.id, jobId)).get()!;
    const started = performance.now();
    const file = Bun.file(out).writer({ highWaterMark: 1024 * 1024 });
    const rows = await writeConsolidatedFile("xlsx", consolidatedRows(db, job), consolidatedContext(db, job, new Date()), (chunk) => void file.write(chunk), () => {});
    await file.end();
    return { ms: performance.now() - started, bytes: statSync(out).size, peakMb: peakResidentMb(), rows };
  }
  const job = db.$client.query("SELECT * FROM export_jobs WHERE id = ?").get(jobId) as Record<string, unknown>;
  const spec = { agencyId: job.agency_id as number, year: job.year as number, trainingTypes: JSON.parse(job.training_types as string) };
  const rows = traineeRows(db.$client, spec);
  const started = performance.now();
  if (kind === "ours" || kind === "unsealed") {
    const context = traineeFileContext(db, { ...spec, id: jobId } as never, new Date());
    const file = Bun.file(out).writer({ highWaterMark: 1024 * 1024 });
    // As the export worker does: the file is sealed as it is written.
    const sealed = kind === "ours" ? sealer(keyOf(newKeyText()), (chunk) => void file.write(chunk)) : { write: (chunk: Uint8Array) => void file.write(chunk), end() {} };
    await writeTraineeFile("xlsx", rows, context, (chunk) => sealed.write(chunk));
    sealed.end();
    await file.end();
  } else if (kind === "exceljs") {
    await exceljs(rows, out);
  } else if (kind === "read") {
    for (const _ of rows);
    await Bun.write(out, "");
  } else if (kind === "floor") {
    await Bun.write(out, floor(rows));
  } else {
    const aoa: string[][] = [TRAINEE_COLUMNS.map((c) => c.header)];
    for (const row of rows) aoa.push(textOf(row));
    const workbook = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(workbook, XLSX.utils.aoa_to_sheet(aoa, { dense: true }), "Allievi");
    await Bun.write(out, XLSX.write(workbook, { type: "buffer", bookType: "xlsx", compression: kind === "sheetjs" }));
  }
  const ms = performance.now() - started;
  return { ms, bytes: statSync(out).size, peakMb: peakResidentMb() };
}

function measure(kind: Kind | "consolidated", dataDir: string, jobId: number): RunResult & { rows?: number } {
  const out = join(dataDir, `bench-${kind}.xlsx`);
  const child = Bun.spawnSync(["bun", import.meta.path, "--child", kind, dataDir, String(jobId), out], { stderr: "inherit" });
  if (child.exitCode !== 0) throw new Error(`${kind} run failed`);
  rmSync(out, { force: true });
  return JSON.parse(child.stdout.toString()) as RunResult & { rows?: number };
}

/**
 * The fund's file on a fund of FUND_AGENCIES agencies: all of them, and a fifth of them,
 * each in its own process; its own data folder, removed at the end.
 */
async function consolidatedRuns(): Promise<{ all: RunResult & { rows: number }; fifth: RunResult & { rows: number } }> {
  const dataDir = mkdtempSync(join(tmpdir(), "placement-bench-fund-export-"));
  try {
    const config = loadConfig({ DATA_DIR: dataDir });
    const db = openDatabase(dataPaths(config).database);
    migrate(db);
    console.log(`generating ${FUND_AGENCIES} agencies and ${FUND_ENROLLMENTS} enrollments for the fund's file…`);
    await generateDataset(db, systemClock, { agencies: FUND_AGENCIES, enrollments: FUND_ENROLLMENTS });
    const fund = db.$client.query("SELECT id FROM users WHERE role = 'fund_operator'").get() as { id: number };
    const ids = (db.$client.query("SELECT id FROM agencies ORDER BY id").all() as { id: number }[]).map((a) => a.id);
    const book = (agencyIds: number[]) =>
      (db.$client
        .query("INSERT INTO export_jobs (agency_id, agency_ids, user_id, year, training_types, format) VALUES (NULL, ?, ?, 2019, ?, 'xlsx') RETURNING id")
        .get(JSON.stringify(agencyIds), fund.id, JSON.stringify(["BASE", "PROF", "OTJ", "CONT", "QUAL", "RIQ"])) as { id: number }).id;
    const all = book([]);
    const fifth = book(ids.slice(0, Math.max(1, Math.round(ids.length / 5))));
    // As a running server's database is: without it, each reader recovered the generator's
    // whole write-ahead log into its own memory (+300 MB at 1,000,000 rows).
    db.$client.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.$client.close();
    const run = (id: number) => measure("consolidated", dataDir, id) as RunResult & { rows: number };
    return { all: run(all), fifth: run(fifth) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
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

    const results = Object.fromEntries((Object.keys(KINDS) as Kind[]).map((kind) => [kind, measure(kind, dataDir, jobId)])) as Record<Kind, RunResult>;
    const { naive, exceljs: peer, floor: least, ours, unsealed } = results;

    // Latency of a signed-in page, idle and while the export runs in its Worker.
    const deps = createDeps({ db, config, log: silentLogger, keys: resolveKeys(config, false).keys });
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
    const p99Ratio = percentile(busy, 99) / percentile(idle, 99);
    console.log(`\nexport of ${ENROLLMENTS} rows to xlsx (each run in its own process)\n`);
    console.log(
      table(
        ["", "time ms", "file MB", "peak RSS MB"],
        [
          ...(Object.keys(KINDS) as Kind[]).map((kind) => [KINDS[kind], results[kind].ms.toFixed(0), mb(results[kind].bytes), results[kind].peakMb.toFixed(0)]),
          ["ours / naive SheetJS", ratio(ours.ms, naive.ms), ratio(ours.bytes, naive.bytes), ratio(ours.peakMb, naive.peakMb)],
          ["ours / exceljs (targets ≤ 0.5, ≤ 1, ≤ 1)", ratio(ours.ms, peer.ms), ratio(ours.bytes, peer.bytes), ratio(ours.peakMb, peer.peakMb)],
          ["ours / floor (target ≤ 2)", ratio(ours.ms, least.ms), "", ""],
          ["ours / ours without sealing (target ≤ 1.15)", ratio(ours.ms, unsealed.ms), ratio(ours.bytes, unsealed.bytes), ratio(ours.peakMb, unsealed.peakMb)],
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
    const fund = await consolidatedRuns();
    const perRow = (r: RunResult, rows: number) => (1000 * r.ms) / rows;
    console.log(`\nthe fund's file (dati acquisiti), ${FUND_AGENCIES} agencies, each run in its own process\n`);
    console.log(
      table(
        ["", "rows", "time ms", "µs per row", "file MB", "peak RSS MB"],
        [
          ["an agency's file (ours, above)", String(ENROLLMENTS), ours.ms.toFixed(0), perRow(ours, ENROLLMENTS).toFixed(1), mb(ours.bytes), ours.peakMb.toFixed(0)],
          ["the fund's file, a fifth of the agencies", String(fund.fifth.rows), fund.fifth.ms.toFixed(0), perRow(fund.fifth, fund.fifth.rows).toFixed(1), mb(fund.fifth.bytes), fund.fifth.peakMb.toFixed(0)],
          ["the fund's file, every agency", String(fund.all.rows), fund.all.ms.toFixed(0), perRow(fund.all, fund.all.rows).toFixed(1), mb(fund.all.bytes), fund.all.peakMb.toFixed(0)],
          ["fund per row / agency per row", "", "", ratio(perRow(fund.all, fund.all.rows), perRow(ours, ENROLLMENTS)), "", ""],
          ["fund peak, every agency / a fifth (flat: ≈ 1)", "", "", "", "", ratio(fund.all.peakMb, fund.fifth.peakMb)],
        ],
      ),
    );
    console.log(
      `bench:consolidated rows=${fund.all.rows} per_row_ratio=${ratio(perRow(fund.all, fund.all.rows), perRow(ours, ENROLLMENTS))} memory_flat_ratio=${ratio(fund.all.peakMb, fund.fifth.peakMb)} peak_mb=${fund.all.peakMb.toFixed(0)}`,
    );
    console.log(`bench:seal export_cost_ratio=${ratio(ours.ms, unsealed.ms)}`);
    console.log(
      `bench:export exceljs_time_ratio=${ratio(ours.ms, peer.ms)} exceljs_memory_ratio=${ratio(ours.peakMb, peer.peakMb)} exceljs_size_ratio=${ratio(ours.bytes, peer.bytes)} floor_ratio=${ratio(ours.ms, least.ms)} p99_ratio=${p99Ratio.toFixed(2)}`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  const [, , , kind, dataDir, jobId, out] = process.argv;
  console.log(JSON.stringify(await runOne(kind as Kind | "consolidated", dataDir!, Number(jobId), out!)));
} else {
  await main();
}
