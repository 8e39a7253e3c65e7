import { and, eq, isNull, lt } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { idempotencyKeys } from "../db/schema.ts";
import type { Clock } from "./clock.ts";

/*
 * Idempotency-Key for the API's POSTs: the first request with a key is done and its answer
 * kept for a day; a retry with the same key and the same request gets that answer again.
 */

export const IDEMPOTENCY_HOURS = 24;
// Printable ASCII, as a client's UUID or its own request id would be.
export const IDEMPOTENCY_KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;
// A first request answers within seconds (the instant checks of a file are bounded far
// below this); a claim without an answer after it was left by a process that stopped.
const CLAIM_LEASE_MS = 5 * 60_000;

export type KeyClaim =
  | { kind: "first" }
  | { kind: "replay"; status: number; body: string }
  | { kind: "running" }
  | { kind: "other_request" };

/** Claims the key for this request, or says what was already done with it. */
export function claimKey(db: Db, clock: Clock, tokenId: number, key: string, fingerprint: string): KeyClaim {
  const now = clock.now();
  return db.transaction(() => {
    const kept = db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.tokenId, tokenId), eq(idempotencyKeys.key, key))).get();
    const age = kept ? now.getTime() - kept.createdAt.getTime() : Infinity;
    if (kept && age < IDEMPOTENCY_HOURS * 3_600_000) {
      if (kept.fingerprint !== fingerprint) return { kind: "other_request" } as const;
      if (kept.status !== null && kept.body !== null) return { kind: "replay", status: kept.status, body: kept.body } as const;
      if (age < CLAIM_LEASE_MS) return { kind: "running" } as const;
    }
    db.insert(idempotencyKeys)
      .values({ tokenId, key, fingerprint, createdAt: now })
      .onConflictDoUpdate({ target: [idempotencyKeys.tokenId, idempotencyKeys.key], set: { fingerprint, createdAt: now, status: null, body: null } })
      .run();
    return { kind: "first" } as const;
  });
}

/** Keeps the answer of the request that claimed the key. */
export function settleKey(db: Db, tokenId: number, key: string, status: number, body: string): void {
  db.update(idempotencyKeys)
    .set({ status, body })
    .where(and(eq(idempotencyKeys.tokenId, tokenId), eq(idempotencyKeys.key, key), isNull(idempotencyKeys.status)))
    .run();
}

/** Frees a key whose request ended without an answer worth repeating (an unexpected error). */
export function releaseKey(db: Db, tokenId: number, key: string): void {
  db.delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tokenId, tokenId), eq(idempotencyKeys.key, key), isNull(idempotencyKeys.status)))
    .run();
}

/** Drops keys older than a day. */
export function purgeIdempotencyKeys(db: Db, clock: Clock): void {
  db.delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, new Date(clock.now().getTime() - IDEMPOTENCY_HOURS * 3_600_000)))
    .run();
}
