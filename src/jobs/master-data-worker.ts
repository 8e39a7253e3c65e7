// Reads, checks and applies one master-data load off the main thread (started by
// src/jobs/master-data.ts). The file itself is read by a child process (upload-runner.ts).
import { renameSync } from "node:fs";
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { masterDataJobs } from "../db/schema.ts";
import { removeQuietly } from "../services/data-files.ts";
import { MasterEvaluator } from "../services/master-data.ts";
import { finishMasterData } from "./master-data.ts";
import { MASTER_COLUMNS, MASTER_SHEET, matchMasterHeader } from "../sheets/master-columns.ts";
import { writeOutcomeFile } from "../sheets/outcome-file.ts";
import { parseInChild, type ChildLimits } from "./parse-runner.ts";
import { JobError, serveWorker } from "./worker-runner.ts";

export type MasterWorkerInput = {
  databasePath: string;
  jobId: number;
  attempt: number;
  uploadPath: string;
  outcomePath: string;
  outcomeName: string;
  now: string;
  limits: ChildLimits;
};
export type MasterWorkerResult = { applied: boolean; total: number; ok: number; ko: number; unchanged: number };

serveWorker<MasterWorkerInput, MasterWorkerResult>(async (input, progress, signal) => {
  const db = openDatabase(input.databasePath);
  // The job's time starts where the scheduler's clock was and runs on from there.
  const started = performance.now();
  try {
    const job = db.select().from(masterDataJobs).where(eq(masterDataJobs.id, input.jobId)).get();
    if (!job) throw new Error(`master data job ${input.jobId} not found`);
    let evaluator: MasterEvaluator | null = null;
    let header: string[] = [];
    let dateColumns = new Set<number>();
    for await (const message of parseInChild(input.uploadPath, { headerOnly: false, limits: input.limits, kind: "master", signal })) {
      if (message.t === "error") throw new JobError(message.message, true);
      if (message.t === "header") {
        const match = matchMasterHeader(message.header);
        if (match.missing.length) throw new JobError(`Mancano le colonne: ${match.missing.map((c) => c.header).join(", ")}.`, true);
        header = message.header;
        dateColumns = new Set(MASTER_COLUMNS.filter((c) => c.date).map((c) => match.positions.get(c.key) ?? -1));
        evaluator = new MasterEvaluator(db, match.positions);
      } else if (message.t === "row" && evaluator) {
        evaluator.add(message);
        if (evaluator.rows.length % 2000 === 0) progress(evaluator.rows.length, 0);
      }
    }
    if (!evaluator) throw new JobError("Il file non contiene la riga di intestazione.", true);

    const partPath = `${input.outcomePath}.part`;
    try {
      const file = Bun.file(partPath).writer({ highWaterMark: 1024 * 1024 });
      await writeOutcomeFile(job.fileFormat === "csv" ? "csv" : "xlsx", { sheet: MASTER_SHEET, header, dateColumns, metadata: null }, evaluator.rows, (chunk) => void file.write(chunk));
      await file.end();
      renameSync(partPath, input.outcomePath);
    } finally {
      removeQuietly(partPath);
    }
    signal.throwIfAborted();
    const applied = finishMasterData(db, new Date(Date.parse(input.now) + (performance.now() - started)), { id: job.id, attempt: input.attempt }, job.userId, evaluator, input.outcomeName);
    return { applied, ...evaluator.counts() };
  } finally {
    db.$client.close();
  }
});
