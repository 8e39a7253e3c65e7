import type { Db } from "../db/client.ts";
import { auditLog } from "../db/schema.ts";
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
