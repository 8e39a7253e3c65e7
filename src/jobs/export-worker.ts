// Writes one export file off the main thread (started by src/jobs/exports.ts): an agency's
// file to fill in, the fund's file of every agency's data, or a campaign's closing report.
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { exportJobs } from "../db/schema.ts";
import { consolidatedContext, consolidatedRows, countExportRows } from "../services/consolidated.ts";
import { traineeFileContext, traineeRows } from "../services/exports.ts";
import { writeConsolidatedFile } from "../sheets/consolidated-file.ts";
import { writeTraineeFile } from "../sheets/trainee-file.ts";
import { writeReportFile } from "../sheets/report-file.ts";
import { closingReport } from "../services/report.ts";
import { formatDateTime } from "../format.ts";
import { serveWorker } from "./worker-runner.ts";
import { checkedWriter, sealer, type Key } from "../services/sealed-files.ts";

export type ExportWorkerInput = { databasePath: string; jobId: number; outputPath: string; generatedAt: string; key: Key };
export type ExportWorkerResult = { rows: number; bytes: number };

serveWorker<ExportWorkerInput, ExportWorkerResult>("idle", async (input, progress, signal) => {
  const db = openDatabase(input.databasePath, { readonly: true });
  try {
    const job = db.select().from(exportJobs).where(eq(exportJobs.id, input.jobId)).get();
    if (!job) throw new Error(`export job ${input.jobId} not found`);
    const total = countExportRows(db, job);
    const generatedAt = new Date(input.generatedAt);
    const file = checkedWriter(input.outputPath);
    const sealed = sealer(input.key, (chunk) => file.write(chunk));
    // The size the clerk downloads: the file's, before it is sealed.
    let bytes = 0;
    const sink = (chunk: Uint8Array) => {
      bytes += chunk.length;
      sealed.write(chunk);
    };
    const onProgress = (done: number) => {
      signal.throwIfAborted();
      progress(done, total);
    };
    const { agencyId } = job;
    let rows: number;
    if (job.kind === "report") rows = await writeReportFile(closingReport(db, job.year), (at) => formatDateTime(at), sink);
    else if (agencyId === null) {
      rows = await writeConsolidatedFile(job.format, consolidatedRows(db, job), consolidatedContext(db, job, generatedAt), sink, onProgress);
    } else {
      rows = await writeTraineeFile(job.format, traineeRows(db.$client, { ...job, agencyId }), traineeFileContext(db, { ...job, agencyId }, generatedAt), sink, onProgress);
    }
    sealed.end();
    await file.end();
    return { rows, bytes };
  } finally {
    db.$client.close();
  }
});
