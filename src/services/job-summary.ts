import type { Db } from "../db/client.ts";
import { listBookings } from "./exports.ts";
import { listUploads } from "./imports.ts";
import type { Scope } from "./scope.ts";

export const EXPORT_STATUS_TEXT = {
  queued: "in coda",
  running: "in elaborazione",
  ready: "disponibile",
  failed: "non riuscita",
  expired: "scaduta",
} as const;

export const IMPORT_STATUS_TEXT = {
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

/** Every booking and upload in scope, newest first. */
export function jobSummary(db: Db, scope: Scope): JobSummaryRow[] {
  const bookings = listBookings(db, scope, ALL_JOBS).map(
    (b): JobSummaryRow => ({
      kind: "Download",
      id: b.id,
      agencyCode: b.agencyCode,
      by: b.bookedBy,
      at: b.createdAt,
      subject: `${b.year} · ${b.trainingTypes.join(", ")} · ${b.format.toUpperCase()}`,
      status: EXPORT_STATUS_TEXT[b.status],
      failed: b.status === "failed",
      rows: b.rowCount,
      ok: null,
      ko: null,
      unchanged: null,
      error: b.status === "failed" ? b.error : null,
      fileUrl: b.status === "ready" ? `/placement/prenotazioni/${b.id}/file` : null,
    }),
  );
  const uploads = listUploads(db, scope, ALL_JOBS).map(
    (u): JobSummaryRow => ({
      kind: "Caricamento",
      id: u.id,
      agencyCode: u.agencyCode,
      by: u.uploadedBy,
      at: u.createdAt,
      subject: `${u.year} · ${u.fileName}`,
      status: IMPORT_STATUS_TEXT[u.status],
      failed: u.status === "failed",
      rows: u.rowsTotal,
      ok: u.rowsOk,
      ko: u.rowsKo,
      unchanged: u.rowsUnchanged,
      error: u.status === "failed" ? u.error : null,
      fileUrl: u.outcomePath ? `/placement/caricamenti/${u.id}/esito` : null,
    }),
  );
  return [...bookings, ...uploads].sort((a, b) => b.at.getTime() - a.at.getTime() || b.id - a.id);
}
