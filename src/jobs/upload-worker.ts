// Reads, checks and applies one upload off the main thread (started by src/jobs/uploads.ts).
// The file itself is read by a child process (parse-runner.ts); this thread only sees rows.
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { uploadJobs } from "../db/schema.ts";
import { missingColumns, workerClock, writeOutcome, type FileWorkerInput } from "./file-jobs.ts";
import { finishUpload, queueUploadNotice } from "./uploads.ts";
import { localDate } from "../format.ts";
import { sinceVersion } from "../services/enrollments.ts";
import { appliedVersion, loadEnrollmentFacts, RowEvaluator } from "../services/uploads.ts";
import { referenceCodes } from "../services/reference-lists.ts";
import { matchHeader, TRAINEE_COLUMNS, type TraineeRow } from "../sheets/columns.ts";
import { parseInChild } from "./parse-runner.ts";
import { JobError, serveWorker } from "./worker-runner.ts";
import type { SheetRow } from "../sheets/xlsx-reader.ts";

export type UploadWorkerInput = FileWorkerInput & { placementUrl: string };
export type UploadWorkerResult = { applied: boolean; total: number; ok: number; ko: number; unchanged: number; parsePeakMb: number };

const PROGRESS_EVERY = 2000;
// Judging again is needed only when a page edit lands during the job; it cannot go on for ever.
const MAX_ROUNDS = 3;

serveWorker<UploadWorkerInput, UploadWorkerResult>(async (input, progress, signal) => {
  const db = openDatabase(input.databasePath);
  const clock = workerClock(input);
  try {
    const job = db.select().from(uploadJobs).where(eq(uploadJobs.id, input.jobId)).get();
    if (!job) throw new Error(`import job ${input.jobId} not found`);
    const rows: SheetRow[] = [];
    let header: string[] | null = null;
    let sheet = "";
    let metadata: Record<string, string> | null = null;
    let parsePeakMb = 0;
    for await (const message of parseInChild(input.uploadPath, { headerOnly: false, limits: input.limits, signal })) {
      if (message.t === "error") throw new JobError(message.message, true);
      if (message.t === "header") {
        const match = matchHeader(message.header);
        if (match.missing.length) throw new JobError(missingColumns(match.missing), true);
        ({ header, sheet, metadata } = message);
      } else if (message.t === "end") {
        parsePeakMb = message.peakMb;
      } else if (message.t === "row" && header) {
        rows.push(message);
        if (rows.length % PROGRESS_EVERY === 0) progress(rows.length, 0);
      }
    }
    if (!header) throw new JobError("Il file non contiene la riga di intestazione.", true);

    const positions = matchHeader(header).positions;
    const column = (key: keyof TraineeRow) => positions.get(key) ?? -1;
    const dateColumns = new Set(TRAINEE_COLUMNS.filter((c) => c.kind === "date").map((c) => column(c.key)));
    for (let round = 1; ; round++) {
      const evaluator = new RowEvaluator({
        positions,
        facts: loadEnrollmentFacts(db.$client, job.agencyId, job.year),
        codes: referenceCodes(db),
        year: job.year,
        today: localDate(job.createdAt, "Europe/Rome"),
        since: (facts, version) => sinceVersion(db.$client, facts, version),
      });
      for (const row of rows) evaluator.add(row);
      const problem = evaluator.dateOrderProblem();
      if (problem) throw new JobError(problem, true);

      // Applied rows carry their new version, so that uploading this file again reverts nothing.
      const versionColumn = column("version");
      const outcomeRows = evaluator.rows.map((row) => {
        const version = versionColumn >= 0 ? appliedVersion(row) : null;
        if (!version) return row;
        const cells = [...row.cells];
        cells[versionColumn] = version;
        return { ...row, cells };
      });
      await writeOutcome(input.outcomePath, job, { sheet, header, dateColumns, metadata }, outcomeRows);

      const counts = evaluator.counts();
      signal.throwIfAborted();
      const result = finishUpload(db, clock, { id: job.id, attempt: input.attempt }, job.userId, evaluator, input.outcomeName, () =>
        queueUploadNotice(db, clock, job, input.placementUrl, { counts, reasons: evaluator.topReasons() }),
      );
      if (result !== "stale") return { applied: result === "done", ...counts, parsePeakMb };
      if (round === MAX_ROUNDS) {
        throw new JobError("Le iscrizioni sono cambiate più volte durante l'elaborazione: il caricamento sarà ripreso a breve.", false);
      }
    }
  } finally {
    db.$client.close();
  }
});
