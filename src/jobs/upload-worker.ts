// Reads, checks and applies one upload off the main thread (started by src/jobs/uploads.ts).
// The file itself is read by a child process (parse-runner.ts); this thread only sees rows.
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { uploadJobs } from "../db/schema.ts";
import { missingColumns, workerClock, type FileWorkerInput } from "./file-jobs.ts";
import { finishUpload, queueUploadNotice } from "./uploads.ts";
import { localDate } from "../format.ts";
import { sinceVersion } from "../services/enrollments.ts";
import { appliedVersion, loadEnrollmentFacts, RowEvaluator, type EnrollmentIndex } from "../services/uploads.ts";
import { referenceCodes } from "../services/reference-lists.ts";
import { matchHeader, TRAINEE_COLUMNS, type TraineeRow } from "../sheets/columns.ts";
import { outcomeWidth } from "../sheets/outcome-file.ts";
import type { OutcomeWorkerInput, OutcomeWorkerResult } from "./outcome-worker.ts";
import { packBatch, parseInChild, rowsOfBatch } from "./parse-runner.ts";
import { JobError, serveWorker, WorkerThreads } from "./worker-runner.ts";

export type UploadWorkerInput = FileWorkerInput & { placementUrl: string };
/**
 * Milliseconds of each step, for the log and the benchmark: the child's own reading, then
 * the rules, the outcome file and the apply, summed over the rounds. The first round's
 * judging runs while the child reads, and the outcome file is written while the rows are
 * applied (the apply lasts until both are done), so the steps add up to more than the job.
 */
export type UploadStages = { parse: number; judge: number; outcome: number; apply: number };
export type UploadWorkerResult = { applied: boolean; total: number; ok: number; ko: number; unchanged: number; parsePeakMb: number; stages: UploadStages };

const PROGRESS_EVERY = 2000;
// Judging again is needed only when a page edit lands during the job; it cannot go on for ever.
const MAX_ROUNDS = 3;

// This thread's own: the outcome file is written on another thread while this one applies the rows.
const threads = new WorkerThreads();

serveWorker<UploadWorkerInput, UploadWorkerResult>(async (input, progress, signal) => {
  const db = openDatabase(input.databasePath);
  const clock = workerClock(input);
  const stages: UploadStages = { parse: 0, judge: 0, outcome: 0, apply: 0 };
  const timed = <T>(stage: keyof UploadStages, step: () => T): T => {
    const started = performance.now();
    try {
      return step();
    } finally {
      stages[stage] += performance.now() - started;
    }
  };
  try {
    const job = db.select().from(uploadJobs).where(eq(uploadJobs.id, input.jobId)).get();
    if (!job) throw new Error(`import job ${input.jobId} not found`);
    const load = () => loadEnrollmentFacts(db.$client, job.agencyId, job.year);
    const reading = parseInChild(input.uploadPath, { headerOnly: false, limits: input.limits, keys: input.keys, signal });
    // The child starts here and reads the file while the campaign's enrollments load.
    const first = reading.next();
    // Awaited below; a failure before that is not left unhandled.
    first.catch(() => {});
    let facts: EnrollmentIndex;
    const judge = (positions: Map<keyof TraineeRow, number>) =>
      new RowEvaluator({
        positions,
        facts,
        codes: referenceCodes(db),
        year: job.year,
        today: localDate(job.createdAt, "Europe/Rome"),
        since: (facts, version) => sinceVersion(db.$client, facts, version),
      });
    // The rows are kept packed, a fraction of their cells' memory.
    const batches: Uint8Array[] = [];
    let layout: { header: string[]; sheet: string; metadata: Record<string, string> | null; positions: Map<keyof TraineeRow, number> } | null = null;
    let evaluator: RowEvaluator | null = null;
    let width = 0;
    let parsePeakMb = 0;
    try {
      facts = timed("judge", load);
      // The first round judges each row as it arrives, while the child reads the next ones.
      for (let next = await first; !next.done; next = await reading.next()) {
        const message = next.value;
        if (message.t === "error") throw new JobError(message.message, true);
        if (message.t === "header") {
          const match = matchHeader(message.header);
          if (match.missing.length) throw new JobError(missingColumns(match.missing), true);
          layout = { header: message.header, sheet: message.sheet, metadata: message.metadata, positions: match.positions };
          width = message.header.length;
          evaluator = timed("judge", () => judge(match.positions));
        } else if (message.t === "end") {
          parsePeakMb = message.peakMb;
          stages.parse = message.ms;
        } else if (message.t === "rows" && evaluator) {
          const current = evaluator;
          const before = current.size;
          batches.push(packBatch(message.text));
          width = outcomeWidth(message.rows, width);
          timed("judge", () => {
            for (const row of message.rows) current.add(row);
          });
          if (Math.floor(current.size / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY)) progress(current.size, 0);
        }
      }
    } finally {
      // Stops the child and its timers when the reading ends early (a refused header, a failed load).
      await reading.return(undefined);
    }
    if (!layout || !evaluator) throw new JobError("Il file non contiene la riga di intestazione.", true);

    const { header, sheet, metadata, positions } = layout;
    const column = (key: keyof TraineeRow) => positions.get(key) ?? -1;
    const dateColumns = TRAINEE_COLUMNS.filter((c) => c.kind === "date").map((c) => column(c.key));
    const versionColumn = positions.get("version") ?? null;
    for (let round = 1; ; round++) {
      if (round > 1) {
        evaluator = timed("judge", () => {
          facts = load();
          const again = judge(positions);
          for (const batch of batches) for (const row of rowsOfBatch(batch)) again.add(row);
          return again;
        });
      }
      const judged = evaluator;
      const problem = judged.dateOrderProblem();
      if (problem) throw new JobError(problem, true);

      const rows = judged.rows;
      signal.throwIfAborted();
      // Applied rows carry their new version, so that uploading this file again reverts nothing.
      const writing = threads.run<OutcomeWorkerInput, OutcomeWorkerResult>(
        "outcome-worker",
        {
          path: input.outcomePath,
          key: input.keys[0]!,
          fileFormat: job.fileFormat,
          layout: { sheet, header, width, dateColumns, metadata, versionColumn },
          batches,
          outcomes: rows.map((row) => row.outcome),
          messages: rows.map((row) => row.message),
          versions: versionColumn === null ? [] : rows.map(appliedVersion),
        },
        () => {},
        signal,
      );
      const written = writing.then(({ ms }) => void (stages.outcome += ms));

      const counts = judged.counts();
      const started = performance.now();
      const result = await finishUpload(
        db,
        clock,
        { id: job.id, attempt: input.attempt },
        job.userId,
        judged,
        input.outcomeName,
        () => queueUploadNotice(db, clock, job, input.placementUrl, { counts, reasons: judged.topReasons() }),
        written,
      );
      stages.apply += performance.now() - started;
      if (result !== "stale") {
        const ms = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round(v)])) as UploadStages;
        return { applied: result === "done", ...counts, parsePeakMb, stages: ms };
      }
      if (round === MAX_ROUNDS) {
        throw new JobError("Le iscrizioni sono cambiate più volte durante l'elaborazione: il caricamento sarà ripreso a breve.", false);
      }
    }
  } finally {
    db.$client.close();
  }
});
