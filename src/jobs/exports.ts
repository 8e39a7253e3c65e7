import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { exportFailedMail, exportReadyMail } from "../mail/notices.ts";
import { dataPaths } from "../config.ts";
import { writeYielding, type Db } from "../db/client.ts";
import { exportJobs } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { queueMail } from "../mail/outbox.ts";
import { formatDateTime } from "../format.ts";
import { dataFile, removeQuietly, storedName } from "../services/data-files.ts";
import { countExportRows, fundFileRowBound } from "../services/consolidated.ts";
import { agencyRecipients, bookerRecipients } from "../services/notifications.ts";
import type { ExportWorkerInput, ExportWorkerResult } from "./export-worker.ts";
import { completeJob, drainQueue, progressRecorder, type Claim, type QueueKind } from "./queue.ts";

const jobOf = (db: Db, claim: Claim) => db.select().from(exportJobs).where(eq(exportJobs.id, claim.id)).get()!;

/** The one notice of an export's end, ready or failed, for the agency's people and the extra address. */
function queueExportNotice(deps: Deps, job: ReturnType<typeof jobOf>, end: { rows: number } | { reason: string }): void {
  const input = {
    // The fund's own file: the operator who booked it hears, and the extra address.
    to: job.agencyId === null ? bookerRecipients(deps.db, job.userId, job.extraEmail) : agencyRecipients(deps.db, job.agencyId, job.extraEmail),
    kind: job.kind,
    exportId: job.id,
    year: job.year,
    trainingTypes: job.trainingTypes,
    requestedAt: formatDateTime(job.createdAt),
    placementUrl: `${deps.config.BASE_URL}/placement/import-massivo`,
  };
  queueMail(
    deps.db,
    deps.clock,
    "reason" in end ? exportFailedMail({ ...input, reason: end.reason }) : exportReadyMail({ ...input, rows: end.rows, retentionDays: deps.config.FILE_RETENTION_DAYS }),
  );
}

/** Downloads: an agency's one at a time, in booking order; a minute, and a minute more per 20,000 rows. */
export const exportQueue: QueueKind = {
  table: "export_jobs",
  serial: "agency",
  budgetMs: (deps, claim) => {
    const job = jobOf(deps.db, claim);
    const rows = job.kind === "trainees" ? countExportRows(deps.db, job) : fundFileRowBound(deps.db);
    return deps.config.JOB_TIMEOUT_SECONDS * 1000 * (1 + rows / 20_000);
  },
  run: runExport,
  onFailed: (deps, claim, reason) => queueExportNotice(deps, jobOf(deps.db, claim), { reason }),
};

/** Runs every export that is due, one after the other. */
export function drainExports(deps: Deps): Promise<void> {
  return drainQueue(deps, exportQueue);
}

async function runExport(deps: Deps, claim: Claim, signal: AbortSignal): Promise<void> {
  const { db, clock, config, log } = deps;
  const job = jobOf(db, claim);
  const dir = dataPaths(config).exports;
  const partPath = join(dir, `${job.id}-${claim.attempt}.part`);
  const finalName = storedName("exports", `${job.id}-${crypto.randomUUID()}.${job.format}`);
  const finalPath = dataFile(config, finalName);
  const started = performance.now();
  try {
    mkdirSync(dir, { recursive: true });
    const result = await deps.workers.run<ExportWorkerInput, ExportWorkerResult>(
      "export-worker",
      { databasePath: dataPaths(config).database, jobId: job.id, outputPath: partPath, generatedAt: clock.now().toISOString(), key: deps.keys[0]! },
      progressRecorder(db, "export_jobs", claim, log),
      signal,
    );
    renameSync(partPath, finalPath);
    const completed = await writeYielding(db, () => {
      const owned = completeJob(db, "export_jobs", claim, clock.now(), "ready", {
        file_path: finalName,
        file_size: result.bytes,
        row_count: result.rows,
        progress_done: result.rows,
        progress_total: result.rows,
        error: null,
      });
      if (owned) queueExportNotice(deps, job, { rows: result.rows });
      return owned;
    });
    if (!completed) removeQuietly(finalPath);
    log.info("export finished", { job: job.id, rows: result.rows, bytes: result.bytes, ms: Math.round(performance.now() - started), stale: !completed || undefined });
  } catch (error) {
    removeQuietly(partPath);
    throw error;
  }
}
