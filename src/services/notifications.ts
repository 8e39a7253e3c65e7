import { and, asc, eq, or } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, users, type Role } from "../db/schema.ts";

/**
 * Who hears about an agency's jobs (SPEC §9): its Responsabile Politiche Attive, each
 * Referente holding the placement permission, and the extra address of the booking.
 */
export function agencyRecipients(db: Db, agencyId: number, extraEmail: string | null): string[] {
  // A disabled agency hears nothing, not even at the booking's extra address.
  const agency = db.select({ disabled: agencies.disabled }).from(agencies).where(eq(agencies.id, agencyId)).get();
  if (!agency || agency.disabled) return [];
  const all = [...placementHolders(db, agencyId).map((r) => r.email), ...(extraEmail ? [extraEmail] : [])].map((e) => e.trim().toLowerCase());
  return [...new Set(all)];
}

/**
 * An agency's enabled users who answer for its Placement: the Responsabile Politiche Attive
 * and the Referenti holding the permission. They hear about its jobs and give the permission.
 */
export function placementHolders(db: Db, agencyId: number): { name: string; email: string; role: Role }[] {
  return db
    .select({ name: users.name, email: users.email, role: users.role })
    .from(users)
    .where(
      and(
        eq(users.agencyId, agencyId),
        eq(users.disabled, false),
        or(eq(users.role, "rpa"), and(eq(users.role, "referent"), eq(users.placementPermission, true))),
      ),
    )
    .orderBy(asc(users.role), asc(users.name))
    .all();
}

/** Who hears about a fund operator's own job: that operator, while enabled, and the booking's extra address. */
export function bookerRecipients(db: Db, userId: number, extraEmail: string | null): string[] {
  const user = db.select({ email: users.email, disabled: users.disabled }).from(users).where(eq(users.id, userId)).get();
  const all = [...(user && !user.disabled ? [user.email] : []), ...(extraEmail ? [extraEmail] : [])].map((e) => e.trim().toLowerCase());
  return [...new Set(all)];
}

/** The fund's operators, while enabled: who hears about the campaign as a whole. */
export function fundRecipients(db: Db): string[] {
  return db
    .select({ email: users.email })
    .from(users)
    .where(and(eq(users.role, "fund_operator"), eq(users.disabled, false)))
    .all()
    .map((u) => u.email);
}
