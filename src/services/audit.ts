import type { Db } from "../db/client.ts";
import { auditLog } from "../db/schema.ts";
import { formatDateTime } from "../format.ts";
import type { TableColumn } from "../sheets/table-file.ts";
import type { Clock } from "./clock.ts";

export type AuditEntry = {
  action: string;
  userId?: number | null;
  agencyId?: number | null;
  target?: string;
  detail?: Record<string, unknown>;
  address?: string;
};

/** Who did what: never personal data of trainees, only ids and file names. */
export function recordAudit(db: Db, clock: Clock, entry: AuditEntry): void {
  db.insert(auditLog)
    .values({
      at: clock.now(),
      action: entry.action,
      userId: entry.userId ?? null,
      agencyId: entry.agencyId ?? null,
      target: entry.target ?? null,
      detail: entry.detail ? JSON.stringify(entry.detail) : null,
      address: entry.address ?? null,
    })
    .run();
}

export type AuditFilters = { agencyId?: number; user?: string; action?: string; from?: string; to?: string };

export type AuditRow = {
  id: number;
  at: Date;
  action: string;
  userEmail: string | null;
  agencyCode: string | null;
  target: string | null;
  detail: string | null;
  address: string | null;
};

/** Entries that match every filter given, newest first; dates are days in Italian time. */
export function searchAudit(db: Db, filters: AuditFilters, limit: number): AuditRow[] {
  const where: string[] = [];
  const params: Record<string, string | number> = { limit };
  if (filters.agencyId) {
    where.push("l.agency_id = $agency");
    params.agency = filters.agencyId;
  }
  if (filters.user) {
    where.push("u.email LIKE $user");
    params.user = `%${filters.user.toLowerCase()}%`;
  }
  if (filters.action) {
    where.push("l.action = $action");
    params.action = filters.action;
  }
  // Day bounds in Europe/Rome, as the clerk means them.
  if (filters.from) {
    where.push("l.at >= $from");
    params.from = romeMidnight(filters.from);
  }
  if (filters.to) {
    where.push("l.at < $to");
    params.to = romeMidnight(filters.to) + 86_400_000;
  }
  const rows = db.$client
    .query(
      `SELECT l.id, l.at, l.action, u.email AS userEmail, a.code AS agencyCode, l.target, l.detail, l.address
       FROM audit_log l LEFT JOIN users u ON u.id = l.user_id LEFT JOIN agencies a ON a.id = l.agency_id
       ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY l.at DESC, l.id DESC LIMIT $limit`,
    )
    .all(params) as (Omit<AuditRow, "at"> & { at: number })[];
  return rows.map((r) => ({ ...r, at: new Date(r.at) }));
}

export function auditActions(db: Db): string[] {
  return (db.$client.query("SELECT DISTINCT action FROM audit_log ORDER BY action").all() as { action: string }[]).map((r) => r.action);
}

/** Midnight of a YYYY-MM-DD day in Europe/Rome, as epoch milliseconds. */
function romeMidnight(day: string): number {
  const utc = Date.parse(`${day}T00:00:00Z`);
  const offsetHours = Number(
    new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Rome", hour: "2-digit", hourCycle: "h23" }).format(new Date(utc)),
  );
  return utc - offsetHours * 3_600_000;
}

/** The columns of the audit log, on the page and in its CSV. */
export const AUDIT_COLUMNS: readonly TableColumn<AuditRow>[] = [
  { header: "Data", width: 17, value: (r) => formatDateTime(r.at) },
  { header: "Azione", width: 18, value: (r) => r.action },
  { header: "Utente", width: 28, value: (r) => r.userEmail },
  { header: "Agenzia", width: 10, value: (r) => r.agencyCode },
  { header: "Oggetto", width: 40, value: (r) => r.target },
  { header: "Dettagli", width: 40, value: (r) => r.detail },
  { header: "Indirizzo", width: 16, value: (r) => r.address },
];
