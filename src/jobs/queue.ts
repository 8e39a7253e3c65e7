import { writeYielding, type Db } from "../db/client.ts";
import type { Deps } from "../deps.ts";
import { isStorageFull, STORAGE_FULL_MESSAGE } from "../services/storage.ts";
import { JobError } from "./worker-runner.ts";

const INTERNAL_ERROR = "L'elaborazione non è riuscita per un errore interno di Placement: riprova; se si ripete, avvisa il Fondo.";

/*
 * The one queue mechanism behind exports and imports: a job is claimed with a lease that
 * its runner renews; a job whose runner died is claimed again once the lease expires; a
 * failed attempt is retried with a growing wait, up to a limit. The attempt number is the
 * runner's fencing token: a runner whose lease was taken over cannot finish the job.
 */

export type QueueTable = "export_jobs" | "import_jobs" | "master_data_jobs";

// The queues whose jobs belong to an agency: a disabled agency's jobs wait until it is enabled.
const AGENCY_JOBS: Record<QueueTable, boolean> = { export_jobs: true, import_jobs: true, master_data_jobs: false };
export type Claim = { id: number; attempt: number };

export const LEASE_MS = 30_000;
export const HEARTBEAT_MS = 10_000;
export const MAX_ATTEMPTS = 3;
const FIRST_RETRY_MS = 5_000;

/**
 * How a queue's jobs wait for each other: "agency", an agency's jobs one at a time in the
 * order they were queued, beside other agencies' jobs; "queue", one job at a time in all.
 */
export type Serial = "agency" | "queue";

/** Claims the oldest job that is due and may start now; a disabled agency's jobs wait. */
export function claimNext(db: Db, table: QueueTable, now: Date, serial: Serial): Claim | null {
  const t = now.getTime();
  // A job whose runner died on each of its attempts is not tried again: it failed.
  db.$client
    .query(
      `UPDATE ${table} SET status = 'failed', lease_until = NULL, finished_at = $now,
              error = 'L''elaborazione si è interrotta a ogni tentativo: riprova; se si ripete, avvisa il Fondo.'
       WHERE status = 'running' AND lease_until < $now AND attempts >= $max`,
    )
    .run({ now: t, max: MAX_ATTEMPTS });
  const due = `((j.status = 'queued' AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= $now))
                OR (j.status = 'running' AND j.lease_until < $now))`;
  const order =
    serial === "agency"
      ? // IS, not =: the fund's own jobs (no agency) also wait for each other.
        `AND NOT EXISTS (SELECT 1 FROM ${table} o WHERE o.agency_id IS j.agency_id AND o.id < j.id
                         AND o.status IN ('queued', 'running'))
         AND NOT EXISTS (SELECT 1 FROM ${table} r WHERE r.agency_id IS j.agency_id AND r.id != j.id
                         AND r.status = 'running' AND r.lease_until >= $now)`
      : `AND NOT EXISTS (SELECT 1 FROM ${table} r WHERE r.id != j.id AND r.status = 'running' AND r.lease_until >= $now)`;
  const enabled = AGENCY_JOBS[table] ? "AND NOT EXISTS (SELECT 1 FROM agencies a WHERE a.id = j.agency_id AND a.disabled)" : "";
  const row = db.$client
    .query(
      `UPDATE ${table} SET status = 'running', attempts = attempts + 1, lease_until = $lease,
              started_at = coalesce(started_at, $now)
       WHERE id = (SELECT j.id FROM ${table} j WHERE ${due} ${enabled} ${order} ORDER BY j.id LIMIT 1)
       RETURNING id, attempts`,
    )
    .get({ now: t, lease: t + LEASE_MS }) as { id: number; attempts: number } | null;
  return row && { id: row.id, attempt: row.attempts };
}

const OWNED = "id = $id AND attempts = $attempt AND status = 'running'";

/**
 * At start, before any runner: the jobs left running were this program's, which died with
 * them. Their leases end now, so that they run again at once rather than after LEASE_MS;
 * a stale runner, if any, is still fenced off by its attempt number.
 */
export function releaseLeases(db: Db): number {
  let released = 0;
  for (const table of ["export_jobs", "import_jobs", "master_data_jobs"] as const) {
    released += db.$client.query(`UPDATE ${table} SET lease_until = 0 WHERE status = 'running'`).run().changes;
  }
  return released;
}

/** Extends the lease; false when another runner has taken the job over. */
export function renewLease(db: Db, table: QueueTable, claim: Claim, now: Date): boolean {
  const result = db.$client
    .query(`UPDATE ${table} SET lease_until = $lease WHERE ${OWNED}`)
    .run({ id: claim.id, attempt: claim.attempt, lease: now.getTime() + LEASE_MS });
  return result.changes === 1;
}

/**
 * Records a running job's progress as its worker reports it, from the server's thread
 * without waiting there for the job's own writes: while one report waits its turn, later
 * ones replace it, so the last one is always recorded and never an older one after it.
 */
export function progressRecorder(db: Db, table: QueueTable, claim: Claim, log: Deps["log"]): (done: number, total: number) => void {
  let latest: { done: number; total: number } | null = null;
  let writing = false;
  const write = async () => {
    writing = true;
    try {
      while (latest) {
        const { done, total } = latest;
        latest = null;
        await writeYielding(db, () =>
          db.$client
            .query(`UPDATE ${table} SET progress_done = $done, progress_total = $total WHERE ${OWNED}`)
            .run({ id: claim.id, attempt: claim.attempt, done, total }),
        );
      }
    } catch (error) {
      // The job goes on; its end records its counts whatever the progress says.
      log.error("progress not recorded", { table, job: claim.id, error: error instanceof Error ? error.message : String(error) });
    } finally {
      writing = false;
      // A report that came while a write failed is still the last one.
      if (latest) void write();
    }
  };
  return (done, total) => {
    latest = { done, total };
    if (!writing) void write();
  };
}

/** Marks the job finished with `status` and `fields`; false when the claim is stale. */
export function completeJob(
  db: Db,
  table: QueueTable,
  claim: Claim,
  now: Date,
  status: string,
  fields: Record<string, string | number | null>,
): boolean {
  const names = Object.keys(fields);
  const assignments = names.map((n) => `${n} = $${n}`).join(", ");
  const result = db.$client
    .query(
      `UPDATE ${table} SET status = $status, lease_until = NULL, finished_at = $now${assignments ? `, ${assignments}` : ""}
       WHERE ${OWNED}`,
    )
    .run({ ...fields, id: claim.id, attempt: claim.attempt, status, now: now.getTime() });
  return result.changes === 1;
}

/** Closes a job that read an uploaded file (an agency's upload, a master-data load) with its counts and outcome file. */
export function completeRead(
  db: Db,
  table: "import_jobs" | "master_data_jobs",
  claim: Claim,
  now: Date,
  counts: { total: number; ok: number; ko: number; unchanged: number },
  outcomeName: string,
): boolean {
  return completeJob(db, table, claim, now, counts.ko ? "done_with_errors" : "done", {
    rows_total: counts.total,
    rows_ok: counts.ok,
    rows_ko: counts.ko,
    rows_unchanged: counts.unchanged,
    outcome_path: outcomeName,
    progress_done: counts.total,
    progress_total: counts.total,
    error: null,
  });
}

/**
 * Records a failed attempt: queued again after a growing wait, or failed for good after
 * the last attempt. Returns what happened, or "stale" when the claim was taken over.
 */
export function failAttempt(
  db: Db,
  table: QueueTable,
  claim: Claim,
  now: Date,
  error: string,
  final = false,
): "retry" | "failed" | "stale" {
  if (final || claim.attempt >= MAX_ATTEMPTS) {
    return completeJob(db, table, claim, now, "failed", { error }) ? "failed" : "stale";
  }
  const result = db.$client
    .query(
      `UPDATE ${table} SET status = 'queued', lease_until = NULL, error = $error, next_attempt_at = $next
       WHERE ${OWNED}`,
    )
    .run({
      id: claim.id,
      attempt: claim.attempt,
      error,
      next: now.getTime() + FIRST_RETRY_MS * 4 ** (claim.attempt - 1),
    });
  return result.changes === 1 ? "retry" : "stale";
}


/** A kind of queued job: its table, how its jobs wait for each other, its time and its work. */
export type QueueKind = {
  table: QueueTable;
  serial: Serial;
  /** How long the job may take, by its size; past that it is stopped. */
  budgetMs: (deps: Deps, claim: Claim) => number;
  /** Does the job; `signal` aborts when the budget is spent. */
  run: (deps: Deps, claim: Claim, signal: AbortSignal) => Promise<void>;
  /** Adds, in the transaction that fails the job for good, the notice for the people waiting on it. */
  onFailed: (deps: Deps, claim: Claim, reason: string) => void;
};

const MAX_TIMER_MS = 2 ** 31 - 1;
const minutes = (ms: number) => Math.max(1, Math.round(ms / 60_000));
const overBudget = (ms: number) =>
  new JobError(
    `L'elaborazione ha superato il tempo massimo previsto per un file di queste dimensioni (${minutes(ms)} minuti) ed è stata interrotta: nessun dato è stato modificato. Dividi il file in più parti e caricale una alla volta; se si ripete, avvisa il Fondo.`,
    true,
  );

/**
 * Runs one claimed job: renews its lease while it runs and stops it past its budget; on
 * failure records the attempt and, when it was the last one, adds its notice in the same
 * transaction.
 */
export async function runClaimed(deps: Deps, kind: QueueKind, claim: Claim): Promise<void> {
  const { db, clock, log, metrics } = deps;
  const { table } = kind;
  const stop = new AbortController();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const started = performance.now();
  try {
    // A timer cannot wait longer than 2^31 - 1 ms: past that it would fire at once.
    const budget = Math.min(kind.budgetMs(deps, claim), MAX_TIMER_MS);
    heartbeat = setInterval(() => {
      writeYielding(db, () => renewLease(db, table, claim, clock.now())).catch((error) =>
        log.error("lease not renewed", { table, job: claim.id, error: error instanceof Error ? error.message : String(error) }),
      );
    }, HEARTBEAT_MS);
    timer = setTimeout(() => stop.abort(overBudget(budget)), budget);
    await kind.run(deps, claim, stop.signal);
    metrics.observeJob(table, "done", (performance.now() - started) / 1000);
  } catch (thrown) {
    const error = stop.signal.aborted ? stop.signal.reason : thrown;
    const reason = error instanceof JobError ? error.message : isStorageFull(error) ? STORAGE_FULL_MESSAGE : INTERNAL_ERROR;
    const final = error instanceof JobError && error.final;
    const outcome = await writeYielding(db, () => {
      const what = failAttempt(db, table, claim, clock.now(), reason, final);
      if (what === "failed") kind.onFailed(deps, claim, reason);
      return what;
    });
    metrics.observeJob(table, outcome, (performance.now() - started) / 1000);
    log.error("job attempt failed", { table, job: claim.id, attempt: claim.attempt, outcome, error: thrown instanceof Error ? thrown.message : String(thrown) });
  } finally {
    clearTimeout(timer);
    clearInterval(heartbeat);
  }
}

/** Claims and runs a queue's due jobs one after the other until none is left. */
export async function drainQueue(deps: Deps, kind: QueueKind): Promise<void> {
  for (let claim = claimNext(deps.db, kind.table, deps.clock.now(), kind.serial); claim; claim = claimNext(deps.db, kind.table, deps.clock.now(), kind.serial)) {
    await runClaimed(deps, kind, claim);
  }
}
