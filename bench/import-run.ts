// One side of bench:import, run by bench/import.ts in a process of its own: only that side's
// code is loaded, before the clock starts, so that its time and peak memory are its own.
import { join } from "node:path";
import { peakResidentMb } from "../src/jobs/priority.ts";
import type { UploadStages } from "../src/jobs/upload-worker.ts";

export type RunResult = { ms: number; peakMb: number; rows: number; stages?: UploadStages };

/** The floor: the sheet inflated natively, then its rows and cells found in one pass. */
async function floorReader() {
  const { ZipArchive } = await import("../src/sheets/zip-guard.ts");
  return (bytes: Uint8Array): number => {
    const xml = Buffer.from(new ZipArchive(bytes).read("xl/worksheets/sheet1.xml")!).toString("utf8");
    let rows = 0;
    let cells = 0;
    for (let at = xml.indexOf("<row"); at !== -1; at = xml.indexOf("<row", at + 4)) {
      const end = xml.indexOf("</row>", at);
      for (let c = xml.indexOf("<c ", at); c !== -1 && c < end; c = xml.indexOf("<c ", c + 3)) cells++;
      rows++;
    }
    if (cells < rows) throw new Error("the floor found no cells");
    return rows - 1;
  };
}

async function sheetjs(): Promise<(filePath: string) => Promise<number>> {
  const XLSX = await import("xlsx");
  return async (filePath) => {
    const workbook = XLSX.read(await Bun.file(filePath).arrayBuffer(), { dense: true });
    return XLSX.utils.sheet_to_json(workbook.Sheets["Allievi"]!, { header: 1 }).length - 1;
  };
}

async function exceljs(): Promise<(filePath: string) => Promise<number>> {
  const { default: ExcelJS } = await import("exceljs");
  return async (filePath) => {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(filePath, { sharedStrings: "cache", hyperlinks: "ignore", styles: "ignore", worksheets: "emit", entries: "ignore" });
    let rows = 0;
    let sheet = 0;
    for await (const worksheet of reader) {
      sheet++;
      for await (const row of worksheet) if (sheet === 1 && (row.values as unknown[]).length) rows++;
    }
    return rows - 1;
  };
}

async function sealing(dataDir: string): Promise<() => Promise<{ ms: number; rows: number }>> {
  const { resolveKeys, seal, unsealWhole } = await import("../src/services/sealed-files.ts");
  const { storedName } = await import("../src/services/data-files.ts");
  const floor = await floorReader();
  const keys = resolveKeys({ DATA_DIR: dataDir, DATA_KEY: "" }, false).keys;
  return async () => {
    const started = performance.now();
    const plain = await unsealWhole(join(dataDir, storedName("uploads", "filled.sealed")), keys);
    seal(keys[0]!, plain);
    // Timed to here; the rows are counted after, for the check that every side read them all.
    const ms = performance.now() - started;
    return { ms, rows: floor(plain) };
  };
}

/** Our whole job, as the server runs it: the queued upload drained through the worker and the child. */
async function ours(dataDir: string): Promise<() => Promise<{ rows: number; parsePeakMb: number; stages?: UploadStages }>> {
  const { dataPaths, loadConfig } = await import("../src/config.ts");
  const { openDatabase } = await import("../src/db/client.ts");
  const { createDeps } = await import("../src/deps.ts");
  const { drainUploads } = await import("../src/jobs/uploads.ts");
  const { silentLogger } = await import("../src/log.ts");
  const { resolveKeys } = await import("../src/services/sealed-files.ts");
  const config = loadConfig({ DATA_DIR: dataDir });
  const db = openDatabase(dataPaths(config).database);
  let result: { total?: number; parsePeakMb?: number; stages?: UploadStages } = {};
  const log = { ...silentLogger, info: (message: string, fields?: object) => void (message === "import finished" && (result = fields as typeof result)) };
  const deps = createDeps({ db, config, log, keys: resolveKeys(config, false).keys });
  return async () => {
    await drainUploads(deps);
    return { rows: result.total ?? 0, parsePeakMb: result.parsePeakMb ?? 0, stages: result.stages };
  };
}

async function run(kind: string, dataDir: string, filePath: string): Promise<RunResult> {
  if (kind === "sealing") {
    const { ms, rows } = await (await sealing(dataDir))();
    return { ms, peakMb: peakResidentMb(), rows };
  }
  if (kind === "ours") {
    const job = await ours(dataDir);
    const started = performance.now();
    const { rows, parsePeakMb, stages } = await job();
    // Peaks of this process (job thread and worker) and of the parsing child, which overlap in time.
    return { ms: performance.now() - started, peakMb: peakResidentMb() + parsePeakMb, rows, stages };
  }
  const read =
    kind === "sheetjs"
      ? await sheetjs()
      : kind === "exceljs"
        ? await exceljs()
        : await floorReader().then((floor) => async (filePath: string) => floor(new Uint8Array(await Bun.file(filePath).arrayBuffer())));
  const started = performance.now();
  const rows = await read(filePath);
  return { ms: performance.now() - started, peakMb: peakResidentMb(), rows };
}

const [kind, dataDir, filePath] = process.argv.slice(2);
console.log(JSON.stringify(await run(kind!, dataDir!, filePath!)));
