// Writes one export file off the main thread (started by src/jobs/exports.ts).
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { exportJobs } from "../db/schema.ts";
import { countTraineeRows, traineeFileContext, traineeRows } from "../services/exports.ts";
import { writeTraineeFile } from "../sheets/trainee-file.ts";
import { serveWorker } from "./worker-runner.ts";

export type ExportWorkerInput = { databasePath: string; jobId: number; outputPath: string; generatedAt: string };
export type ExportWorkerResult = { rows: number; bytes: number };

serveWorker<ExportWorkerInput, ExportWorkerResult>(async (input, progress, signal) => {
  const db = openDatabase(input.databasePath, { readonly: true });
  try {
    const job = db.select().from(exportJobs).where(eq(exportJobs.id, input.jobId)).get();
    if (!job) throw new Error(`export job ${input.jobId} not found`);
    const context = traineeFileContext(db, job, new Date(input.generatedAt));
    const total = countTraineeRows(db.$client, job);
    const file = Bun.file(input.outputPath).writer({ highWaterMark: 1024 * 1024 });
    let bytes = 0;
    const rows = await writeTraineeFile(
      job.format,
      traineeRows(db.$client, job),
      context,
      (chunk) => {
        bytes += chunk.length;
        file.write(chunk);
      },
      (done) => {
        signal.throwIfAborted();
        progress(done, total);
      },
    );
    await file.end();
    return { rows, bytes };
  } finally {
    db.$client.close();
  }
});
