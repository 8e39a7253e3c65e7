// Reads, checks and applies one master-data load off the main thread (started by
// src/jobs/master-data.ts). The file itself is read by a child process (parse-runner.ts).
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { masterDataJobs } from "../db/schema.ts";
import { MasterEvaluator } from "../services/master-data.ts";
import { missingColumns, workerClock, writeOutcome, type FileWorkerInput } from "./file-jobs.ts";
import { finishMasterData } from "./master-data.ts";
import { MASTER_COLUMNS, MASTER_SHEET, matchMasterHeader } from "../sheets/master-columns.ts";
import { parseInChild } from "./parse-runner.ts";
import { JobError, serveWorker } from "./worker-runner.ts";

export type MasterWorkerResult = { applied: boolean; total: number; ok: number; ko: number; unchanged: number };

serveWorker<FileWorkerInput, MasterWorkerResult>("background", async (input, progress, signal) => {
  const db = openDatabase(input.databasePath);
  const clock = workerClock(input);
  try {
    const job = db.select().from(masterDataJobs).where(eq(masterDataJobs.id, input.jobId)).get();
    if (!job) throw new Error(`master data job ${input.jobId} not found`);
    let evaluator: MasterEvaluator | null = null;
    let header: string[] = [];
    let dateColumns = new Set<number>();
    for await (const message of parseInChild(input.uploadPath, { headerOnly: false, limits: input.limits, keys: input.keys, kind: "master", signal })) {
      if (message.t === "error") throw new JobError(message.message, true);
      if (message.t === "header") {
        const match = matchMasterHeader(message.header);
        if (match.missing.length) throw new JobError(missingColumns(match.missing), true);
        header = message.header;
        dateColumns = new Set(MASTER_COLUMNS.filter((c) => c.date).map((c) => match.positions.get(c.key) ?? -1));
        evaluator = new MasterEvaluator(db, match.positions);
      } else if (message.t === "rows" && evaluator) {
        const before = evaluator.rows.length;
        for (const row of message.rows) evaluator.add(row);
        if (Math.floor(evaluator.rows.length / 2000) > Math.floor(before / 2000)) progress(evaluator.rows.length, 0);
      }
    }
    if (!evaluator) throw new JobError("Il file non contiene la riga di intestazione.", true);

    await writeOutcome(input.outcomePath, input.keys[0]!, job, { sheet: MASTER_SHEET, header, dateColumns, metadata: null }, evaluator.rows);
    signal.throwIfAborted();
    const applied = finishMasterData(db, clock.now(), { id: job.id, attempt: input.attempt }, job.userId, evaluator, input.outcomeName);
    return { applied, ...evaluator.counts() };
  } finally {
    db.$client.close();
  }
});
