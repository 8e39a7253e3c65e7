// Reads, checks and applies one upload off the main thread (started by src/jobs/uploads.ts).
// The file itself is read by a child process (parse-runner.ts); this thread only sees rows.
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { uploadJobs } from "../db/schema.ts";
import { missingColumns, workerClock, writeOutcome, type FileWorkerInput } from "./file-jobs.ts";
import { localDate } from "../format.ts";
import { sinceVersion } from "../services/enrollments.ts";
import { appliedVersion, applyPlan, loadEnrollmentFacts, RowEvaluator, type EnrollmentIndex, type PlanPart } from "../services/uploads.ts";
import { referenceCodes } from "../services/reference-lists.ts";
import { matchHeader, TRAINEE_COLUMNS, type TraineeRow } from "../sheets/columns.ts";
import { parseInChild } from "./parse-runner.ts";
import { JobError, serveWorker, workerUrl, type Thread } from "./worker-runner.ts";
import type { SheetRow } from "../sheets/xlsx-reader.ts";
import type { ApplyPart, ApplyReply, ApplyRequest, ApplyVerdict } from "./upload-apply-worker.ts";

export type UploadWorkerInput = FileWorkerInput & { placementUrl: string };
/**
 * Milliseconds of each step, for the log and the benchmark: the child's own reading, then
 * the rules, the outcome file and the apply, summed over the rounds. The first round's
 * judging runs while the child reads and the apply while the outcome file is written, so
 * the steps add up to more than the job.
 */
export type UploadStages = { parse: number; judge: number; outcome: number; apply: number };
export type UploadWorkerResult = { applied: boolean; total: number; ok: number; ko: number; unchanged: number; parsePeakMb: number; stages: UploadStages };

const PROGRESS_EVERY = 2000;
// Judging again is needed only when a page edit lands during the job; it cannot go on for ever.
const MAX_ROUNDS = 3;

/**
 * The thread that applies this worker's uploads (upload-apply-worker.ts): started with the
 * first upload, so that its modules load while the file is read, and kept for the next
 * ones. It ends with this worker; one that failed is replaced.
 */
class ApplyThread {
  private worker: Thread | null = null;
  private waiting: { resolve(reply: ApplyReply & { type: "done" }): void; reject(error: Error): void } | null = null;

  start(): Thread {
    if (this.worker) return this.worker;
    const worker = (this.worker = new Worker(workerUrl("upload-apply-worker")) as Thread);
    worker.unref();
    const settle = (reply: ApplyReply) => {
      const waiting = this.waiting;
      this.waiting = null;
      worker.unref();
      if (reply.type === "done") waiting?.resolve(reply);
      else waiting?.reject(new Error(reply.message));
    };
    const lost = (message: string) => {
      if (this.worker === worker) this.worker = null;
      worker.terminate();
      settle({ type: "error", message });
    };
    worker.onmessage = (event: MessageEvent<ApplyReply>) => settle(event.data);
    worker.onerror = (event) => lost(event.message || "the apply thread failed");
    worker.addEventListener("close", () => lost("the apply thread ended"));
    return worker;
  }

  /**
   * Starts applying the plan, its parts sent one by one as JSON text; `decide` then says
   * whether the outcome file is in place, once.
   */
  apply(request: ApplyRequest, parts: Iterable<PlanPart>): { reply: Promise<ApplyReply & { type: "done" }>; decide(written: boolean): void } {
    const worker = this.start();
    worker.ref();
    try {
      worker.postMessage(request);
      for (const part of parts) worker.postMessage({ type: "part", json: JSON.stringify(part) } satisfies ApplyPart);
      worker.postMessage({ type: "end" } satisfies ApplyPart);
    } catch (error) {
      // A plan cut short (no memory left for a part's text) would leave the thread waiting
      // for the rest inside its transaction: it is ended, and the transaction with it.
      if (this.worker === worker) this.worker = null;
      worker.terminate();
      throw error;
    }
    // No reply can come before this thread's next turn.
    const reply = new Promise<ApplyReply & { type: "done" }>((resolve, reject) => (this.waiting = { resolve, reject }));
    let decided = false;
    const decide = (written: boolean) => {
      if (decided) return;
      decided = true;
      worker.postMessage({ type: "verdict", written } satisfies ApplyVerdict);
    };
    return { reply, decide };
  }
}

const applier = new ApplyThread();

serveWorker<UploadWorkerInput, UploadWorkerResult>("background", async (input, progress, signal) => {
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
    // The campaign's enrollments load before the child starts: the loading holds this thread,
    // which also feeds the child its file, and a child started first waited for it (bench:import).
    const facts = timed("judge", load);
    applier.start();
    const reading = parseInChild(input.uploadPath, { headerOnly: false, limits: input.limits, keys: input.keys, signal });
    const judge = (positions: Map<keyof TraineeRow, number>, facts: EnrollmentIndex) =>
      new RowEvaluator({
        positions,
        facts,
        codes: referenceCodes(db),
        year: job.year,
        today: localDate(job.createdAt, "Europe/Rome"),
        since: (facts, version) => sinceVersion(db.$client, facts, version),
      });
    const rows: SheetRow[] = [];
    let layout: { header: string[]; sheet: string; metadata: Record<string, string> | null; positions: Map<keyof TraineeRow, number> } | null = null;
    let evaluator: RowEvaluator | null = null;
    let parsePeakMb = 0;
    try {
      // The first round judges each row as it arrives, while the child reads the next ones.
      for (let next = await reading.next(); !next.done; next = await reading.next()) {
        const message = next.value;
        if (message.t === "error") throw new JobError(message.message, true);
        if (message.t === "header") {
          const match = matchHeader(message.header);
          if (match.missing.length) throw new JobError(missingColumns(match.missing), true);
          layout = { header: message.header, sheet: message.sheet, metadata: message.metadata, positions: match.positions };
          evaluator = timed("judge", () => judge(match.positions, facts));
        } else if (message.t === "end") {
          parsePeakMb = message.peakMb;
          stages.parse = message.ms;
        } else if (message.t === "rows" && evaluator) {
          const current = evaluator;
          const before = rows.length;
          timed("judge", () => {
            for (const row of message.rows) {
              rows.push(row);
              current.add(row);
            }
          });
          if (Math.floor(rows.length / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY)) progress(rows.length, 0);
        }
      }
    } finally {
      // Stops the child and its timers when the reading ends early (a refused header, a failed load).
      await reading.return(undefined);
    }
    if (!layout || !evaluator) throw new JobError("Il file non contiene la riga di intestazione.", true);

    const { header, sheet, metadata, positions } = layout;
    const column = (key: keyof TraineeRow) => positions.get(key) ?? -1;
    const dateColumns = new Set(TRAINEE_COLUMNS.filter((c) => c.kind === "date").map((c) => column(c.key)));
    const versionColumn = column("version");
    for (let round = 1; ; round++) {
      if (round > 1) {
        evaluator = timed("judge", () => {
          const again = judge(positions, load());
          for (const row of rows) again.add(row);
          return again;
        });
      }
      const judged = evaluator;
      const problem = judged.dateOrderProblem();
      if (problem) throw new JobError(problem, true);

      // The apply runs in its own thread while this one writes the outcome file; it commits
      // once told the file is in place.
      const plan = applyPlan(judged);
      const request: ApplyRequest = {
        type: "apply",
        databasePath: input.databasePath,
        jobId: job.id,
        attempt: input.attempt,
        outcomeName: input.outcomeName,
        placementUrl: input.placementUrl,
        now: clock.now().toISOString(),
        counts: plan.counts,
        reasons: plan.reasons,
      };
      const applying = timed("apply", () => applier.apply(request, plan.parts));
      // Applied rows carry their new version, so that uploading this file again reverts nothing.
      const replaced = versionColumn >= 0 ? { column: versionColumn, value: appliedVersion } : undefined;
      const started = performance.now();
      const writing = writeOutcome(input.outcomePath, input.keys[0]!, job, { sheet, header, dateColumns, metadata, replaced }, judged.rows);
      const written = await writing.then(
        () => true,
        () => false,
      );
      stages.outcome += performance.now() - started;
      applying.decide(written && !signal.aborted);
      const { result, ms } = await applying.reply;
      stages.apply += ms;
      // The outcome file's own error, now that the apply is rolled back.
      await writing;
      if (result === "withdrawn") {
        signal.throwIfAborted();
        throw new Error("the apply was withdrawn with its outcome file in place");
      }
      if (result !== "stale") {
        const rounded = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round(v)])) as UploadStages;
        return { applied: result === "done", ...judged.counts(), parsePeakMb, stages: rounded };
      }
      if (round === MAX_ROUNDS) {
        throw new JobError("Le iscrizioni sono cambiate più volte durante l'elaborazione: il caricamento sarà ripreso a breve.", false);
      }
    }
  } finally {
    db.$client.close();
  }
});
