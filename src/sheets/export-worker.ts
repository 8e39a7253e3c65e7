// Writes one export file off the main thread: started by export-runner.ts.
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { exportJobs } from "../db/schema.ts";
import { countTraineeRows, traineeFileContext, traineeRows } from "../services/exports.ts";
import { writeTraineeFile } from "./trainee-file.ts";
import type { ExportWorkerInput, ExportWorkerMessage } from "./export-runner.ts";

declare const self: Worker;

const post = (message: ExportWorkerMessage) => self.postMessage(message);

self.onmessage = async (event: MessageEvent<ExportWorkerInput>) => {
  const { databasePath, jobId, outputPath, generatedAt } = event.data;
  const db = openDatabase(databasePath, { readonly: true });
  try {
    const job = db.select().from(exportJobs).where(eq(exportJobs.id, jobId)).get();
    if (!job) throw new Error(`export job ${jobId} not found`);
    const context = traineeFileContext(db, job, new Date(generatedAt));
    const total = countTraineeRows(db.$client, job);
    const file = Bun.file(outputPath).writer({ highWaterMark: 1024 * 1024 });
    let bytes = 0;
    const rows = await writeTraineeFile(
      job.format,
      traineeRows(db.$client, job),
      context,
      (chunk) => {
        bytes += chunk.length;
        file.write(chunk);
      },
      (done) => post({ type: "progress", done, total }),
    );
    await file.end();
    post({ type: "done", rows, bytes });
  } catch (error) {
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  } finally {
    db.$client.close();
  }
};
