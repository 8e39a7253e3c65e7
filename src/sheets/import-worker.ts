// Reads, checks and applies one upload off the main thread (started by src/jobs/imports.ts).
// The file itself is read by a child process (upload-runner.ts); this thread only sees rows.
import { renameSync } from "node:fs";
import { eq } from "drizzle-orm";
import { importDoneMail } from "../../views/emails/import.ts";
import { openDatabase } from "../db/client.ts";
import { importJobs } from "../db/schema.ts";
import { queueMail } from "../mail/outbox.ts";
import { formatDateTime } from "../services/campaigns.ts";
import { applyImport, loadEnrollmentFacts, referenceCodes, RowEvaluator } from "../services/imports.ts";
import { agencyRecipients } from "../services/notifications.ts";
import { removeQuietly } from "../jobs/files.ts";
import { matchHeader, SHEET_NAMES, TRAINEE_COLUMNS } from "./columns.ts";
import { writeOutcomeFile } from "./outcome-file.ts";
import { parseInChild, type ChildLimits } from "./upload-runner.ts";
import { JobError, serveSheetWorker } from "./worker-runner.ts";

export type ImportWorkerInput = {
  databasePath: string;
  jobId: number;
  attempt: number;
  outcomePath: string;
  now: string;
  placementUrl: string;
  limits: ChildLimits;
};
export type ImportWorkerResult = { applied: boolean; total: number; ok: number; ko: number; unchanged: number; parsePeakMb: number };

const PROGRESS_EVERY = 2000;
const dateColumn = TRAINEE_COLUMNS.findIndex((c) => c.kind === "date");

serveSheetWorker<ImportWorkerInput, ImportWorkerResult>(async (input, progress) => {
  const db = openDatabase(input.databasePath);
  const clock = { now: () => new Date(input.now) };
  try {
    const job = db.select().from(importJobs).where(eq(importJobs.id, input.jobId)).get();
    if (!job) throw new Error(`import job ${input.jobId} not found`);
    const facts = loadEnrollmentFacts(db.$client, job.agencyId, job.year);
    let evaluator: RowEvaluator | null = null;
    let header: string[] = [];
    let metadata: Record<string, string> | null = null;
    let parsePeakMb = 0;
    for await (const message of parseInChild(job.filePath, false, input.limits)) {
      if (message.t === "error") throw new JobError(message.message, true);
      if (message.t === "header") {
        const match = matchHeader(message.header);
        if (match.missing.length) {
          throw new JobError(`Mancano le colonne: ${match.missing.map((c) => c.header).join(", ")}.`, true);
        }
        header = message.header;
        metadata = message.metadata;
        evaluator = new RowEvaluator(match.positions, facts, referenceCodes(db), job.year);
      } else if (message.t === "end") {
        parsePeakMb = message.peakMb;
      } else if (message.t === "row" && evaluator) {
        evaluator.add(message);
        if (evaluator.size % PROGRESS_EVERY === 0) progress(evaluator.size, 0);
      }
    }
    if (!evaluator) throw new JobError("Il file non contiene la riga di intestazione.", true);

    const positions = matchHeader(header).positions;
    const partPath = `${input.outcomePath}.part`;
    try {
      const file = Bun.file(partPath).writer({ highWaterMark: 1024 * 1024 });
      await writeOutcomeFile(
        job.fileFormat === "csv" ? "csv" : "xlsx",
        { sheet: SHEET_NAMES.trainees, header, dateColumns: new Set([positions.get(TRAINEE_COLUMNS[dateColumn]!.key) ?? -1]), metadata },
        evaluator.rows,
        (chunk) => void file.write(chunk),
      );
      await file.end();
      renameSync(partPath, input.outcomePath);
    } finally {
      removeQuietly(partPath);
    }

    const counts = evaluator.counts();
    const applied = applyImport(db, clock, { id: job.id, attempt: input.attempt, userId: job.userId }, evaluator, input.outcomePath, () =>
      queueMail(
        db,
        clock,
        importDoneMail({
          to: agencyRecipients(db, job.agencyId, null),
          uploadId: job.id,
          year: job.year,
          uploadedAt: formatDateTime(job.createdAt),
          placementUrl: input.placementUrl,
          counts,
          reasons: evaluator!.topReasons(),
        }),
      ),
    );
    return { applied, ...counts, parsePeakMb };
  } finally {
    db.$client.close();
  }
});
