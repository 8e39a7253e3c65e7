import type { Db } from "../db/client.ts";
import { formatDateTime } from "../format.ts";
import type { TableColumn } from "../sheets/table-file.ts";
import { exportSubject, listExports, ownerCode } from "./exports.ts";
import { listUploads } from "./uploads.ts";
import type { Scope } from "./scope.ts";

export const EXPORT_STATUS_TEXT = {
  queued: "in coda",
  running: "in elaborazione",
  ready: "disponibile",
  failed: "non riuscita",
  expired: "scaduta",
} as const;

export const UPLOAD_STATUS_TEXT = {
  queued: "in coda",
  running: "in elaborazione",
  done: "completato",
  done_with_errors: "completato con scarti",
  failed: "non elaborato",
} as const;

/** One booking or upload, as the riepilogo elaborazioni lists it. */
export type JobSummaryRow = {
  kind: "Download" | "Caricamento";
  id: number;
  agencyCode: string;
  by: string;
  at: Date;
  subject: string;
  status: string;
  failed: boolean;
  rows: number | null;
  ok: number | null;
  ko: number | null;
  unchanged: number | null;
  error: string | null;
  fileUrl: string | null;
};

// The summary lists every job; this many of each kind is far more than a campaign makes.
const ALL_JOBS = 100_000;

/** What a summary row takes alike from a booking and an upload. */
const jobFacts = (job: { id: number; agencyCode: string | null; createdAt: Date; status: string; error: string | null }) => ({
  id: job.id,
  agencyCode: ownerCode(job),
  at: job.createdAt,
  failed: job.status === "failed",
  error: job.status === "failed" ? job.error : null,
});

/** Every booking and upload in scope, newest first. */
export function jobSummary(db: Db, scope: Scope): JobSummaryRow[] {
  const exportRows = listExports(db, scope, ALL_JOBS).map(
    (b): JobSummaryRow => ({
      ...jobFacts(b),
      kind: "Download",
      by: b.bookedBy,
      subject: exportSubject(b),
      status: EXPORT_STATUS_TEXT[b.status],
      rows: b.rowCount,
      ok: null,
      ko: null,
      unchanged: null,
      fileUrl: b.status === "ready" ? `/placement/prenotazioni/${b.id}/file` : null,
    }),
  );
  const uploads = listUploads(db, scope, ALL_JOBS).map(
    (u): JobSummaryRow => ({
      ...jobFacts(u),
      kind: "Caricamento",
      by: u.uploadedBy,
      subject: `${u.year} · ${u.fileName}`,
      status: UPLOAD_STATUS_TEXT[u.status],
      rows: u.rowsTotal,
      ok: u.rowsOk,
      ko: u.rowsKo,
      unchanged: u.rowsUnchanged,
      fileUrl: u.outcomePath ? `/placement/caricamenti/${u.id}/esito` : null,
    }),
  );
  return [...exportRows, ...uploads].sort((a, b) => b.at.getTime() - a.at.getTime() || b.id - a.id);
}

/** The columns of the riepilogo elaborazioni file, and of its table on the page. */
export const JOB_SUMMARY_COLUMNS: readonly TableColumn<JobSummaryRow>[] = [
  { header: "Tipo", width: 12, value: (r) => r.kind },
  { header: "N.", width: 7, value: (r) => r.id },
  { header: "Agenzia", width: 10, value: (r) => r.agencyCode },
  { header: "Data", width: 17, value: (r) => formatDateTime(r.at) },
  { header: "Utente", width: 24, value: (r) => r.by },
  { header: "Filtri o file", width: 40, value: (r) => r.subject },
  { header: "Stato", width: 22, value: (r) => r.status },
  { header: "Righe", width: 9, value: (r) => r.rows },
  { header: "OK", width: 9, value: (r) => r.ok },
  { header: "KO", width: 9, value: (r) => r.ko },
  { header: "Invariate", width: 10, value: (r) => r.unchanged },
  { header: "Errore", width: 50, value: (r) => r.error },
];
