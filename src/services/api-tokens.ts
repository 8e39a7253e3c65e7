import { and, desc, eq, inArray, isNull, not, sql, type SQL } from "drizzle-orm";
import { preparedPerDatabase, writeYielding, type Db } from "../db/client.ts";
import { agencies, apiTokens, users } from "../db/schema.ts";
import { hasPlacementPermission, type User } from "./auth.ts";
import type { Clock } from "./clock.ts";
import { randomToken, sha256 } from "./secrets.ts";

/*
 * Personal API tokens. A token acts as its user; it is good while it is neither revoked nor
 * expired and its user could sign in and use Placement: every call reads all of that.
 */

export type ApiToken = typeof apiTokens.$inferSelect;

export const MAX_TOKEN_DAYS = 365;
export const DEFAULT_TOKEN_DAYS = 90;
// Enough for a few systems and their test copies; beyond it old ones should be revoked.
const MAX_ACTIVE_TOKENS = 10;
const PREFIX = "plc_";
// The prefix and 32 random bytes in base64url: anything else is refused before any lookup.
const TOKEN_SHAPE = /^plc_[A-Za-z0-9_-]{43}$/;

export type RevokedBy = "user" | "fund" | "cli" | "password" | "two_factor";

/**
 * Why a user may not hold tokens (or use theirs), as a sentence; null when they may. A token
 * skips the sign-in's steps, so it is good only for a user who has done them all: their own
 * password chosen, and the second factor where their agency asks for it.
 */
export function tokenRefusal(
  user: Pick<User, "role" | "agencyId" | "placementPermission" | "disabled" | "mustChangePassword" | "totpSecret">,
  agencyRequiresTwoFactor: boolean,
): string | null {
  if (user.agencyId === null || user.role === "fund_operator") return "I token API sono per le utenze delle agenzie: gli operatori del Fondo non ne hanno.";
  if (user.disabled) return "L'utenza è disabilitata: riattivala prima di creare un token.";
  if (!hasPlacementPermission(user)) return "Per creare un token serve il permesso Placement: chiedilo al Responsabile della tua agenzia.";
  if (user.mustChangePassword) return "L'utenza ha ancora la password provvisoria: scegli la tua password nel Profilo, poi crea il token.";
  if (agencyRequiresTwoFactor && !user.totpSecret) {
    return "La tua agenzia richiede la verifica in due passaggi: attivala nel Profilo, poi crea il token.";
  }
  return null;
}

const requiresTwoFactor = (db: Db, agencyId: number | null) =>
  agencyId !== null && db.select({ on: agencies.twoFactorRequired }).from(agencies).where(eq(agencies.id, agencyId)).get()?.on === true;

export type TokenResult = { ok: true; id: number; token: string; expiresAt: Date } | { ok: false; field: "name" | "days" | "form"; error: string };

/** A new token for the user, returned once in clear; only its hash is kept. */
export function createApiToken(db: Db, clock: Clock, user: User, input: { name: string; days: number }): TokenResult {
  const refusal = tokenRefusal(user, requiresTwoFactor(db, user.agencyId));
  if (refusal) return { ok: false, field: "form", error: refusal };
  const name = input.name.trim();
  if (name.length < 2 || name.length > 80) return { ok: false, field: "name", error: "Dai al token un nome da 2 a 80 caratteri, per esempio il sistema che lo userà." };
  if (!Number.isInteger(input.days) || input.days < 1 || input.days > MAX_TOKEN_DAYS) {
    return { ok: false, field: "days", error: `La durata va da 1 a ${MAX_TOKEN_DAYS} giorni.` };
  }
  const now = clock.now();
  const active = db
    .select({ n: sql<number>`count(*)` })
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, user.id), isNull(apiTokens.revokedAt), sql`${apiTokens.expiresAt} > ${now.getTime()}`))
    .get()!.n;
  if (active >= MAX_ACTIVE_TOKENS) {
    return { ok: false, field: "form", error: `Hai già ${MAX_ACTIVE_TOKENS} token attivi: revoca quelli che non usi più, poi creane uno nuovo.` };
  }
  const token = PREFIX + randomToken();
  const expiresAt = new Date(now.getTime() + input.days * 86_400_000);
  const id = db
    .insert(apiTokens)
    .values({ userId: user.id, name, tokenHash: sha256(token), createdAt: now, expiresAt })
    .returning({ id: apiTokens.id })
    .get().id;
  return { ok: true, id, token, expiresAt };
}

export type TokenListing = Pick<ApiToken, "id" | "name" | "createdAt" | "expiresAt" | "lastUsedAt" | "revokedAt" | "revokedBy"> & {
  userEmail: string;
  agencyCode: string | null;
};

// The revoked and expired tokens shown besides those in force: the audit log keeps the rest.
const PAST_TOKENS_SHOWN = 200;

/** A user's tokens, or every token (the fund's list): all those in force, then the latest others, newest first. */
export function listApiTokens(db: Db, clock: Clock, userId: number | "all"): TokenListing[] {
  const now = clock.now().getTime();
  const inForce = and(isNull(apiTokens.revokedAt), sql`${apiTokens.expiresAt} > ${now}`);
  const owner = userId === "all" ? undefined : eq(apiTokens.userId, userId);
  return [...tokenRows(db, and(owner, inForce)), ...tokenRows(db, and(owner, not(inForce!)), PAST_TOKENS_SHOWN)];
}

function tokenRows(db: Db, where: SQL | undefined, limit?: number): TokenListing[] {
  const query = db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      createdAt: apiTokens.createdAt,
      expiresAt: apiTokens.expiresAt,
      lastUsedAt: apiTokens.lastUsedAt,
      revokedAt: apiTokens.revokedAt,
      revokedBy: apiTokens.revokedBy,
      userEmail: users.email,
      agencyCode: agencies.code,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .leftJoin(agencies, eq(agencies.id, users.agencyId))
    .where(where)
    .orderBy(desc(apiTokens.id));
  return (limit === undefined ? query : query.limit(limit)).all();
}

/**
 * Revokes one token (only the user's own when `ownerId` is given); the token as it was, or
 * undefined when there is no such token still in force.
 */
export function revokeApiToken(db: Db, clock: Clock, id: number, by: RevokedBy, ownerId?: number): ApiToken | undefined {
  return db
    .update(apiTokens)
    .set({ revokedAt: clock.now(), revokedBy: by })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt), ownerId === undefined ? undefined : eq(apiTokens.userId, ownerId)))
    .returning()
    .get();
}

/** Revokes for good every token of some users (a password changed, two-factor made mandatory). */
export function revokeTokensOf(db: Db, clock: Clock, userIds: number[], by: RevokedBy): number {
  if (userIds.length === 0) return 0;
  return db
    .update(apiTokens)
    .set({ revokedAt: clock.now(), revokedBy: by })
    .where(and(inArray(apiTokens.userId, userIds), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id })
    .all().length;
}

/** Every token of an agency's users, revoked for good. */
export function revokeAgencyTokens(db: Db, clock: Clock, agencyId: number, by: RevokedBy): number {
  const ids = db.select({ id: users.id }).from(users).where(eq(users.agencyId, agencyId)).all().map((u) => u.id);
  return revokeTokensOf(db, clock, ids, by);
}

export type TokenCaller = { token: Pick<ApiToken, "id" | "name">; user: User; agencyName: string | null };

// Writing the last use on every call would turn every read into a write.
const TOUCH_INTERVAL_MS = 60_000;

const callerQuery = preparedPerDatabase((db) =>
  db
    .select({ token: apiTokens, user: users, agencyName: agencies.name, agencyDisabled: agencies.disabled, twoFactorRequired: agencies.twoFactorRequired })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .leftJoin(agencies, eq(agencies.id, users.agencyId))
    .where(eq(apiTokens.tokenHash, sql.placeholder("hash")))
    .prepare(),
);

/**
 * Who calls with this bearer token, or null: unknown, revoked, expired, or its user or agency
 * disabled, or its user refused tokens (read at every call, so that taking the permission
 * away, or resetting a required second factor, stops the token at once).
 */
export function tokenCaller(db: Db, clock: Clock, bearer: string): TokenCaller | null {
  if (!TOKEN_SHAPE.test(bearer)) return null;
  const row = callerQuery(db).get({ hash: sha256(bearer) });
  const now = clock.now();
  if (!row || row.token.revokedAt || row.token.expiresAt <= now || row.agencyDisabled !== false || tokenRefusal(row.user, row.twoFactorRequired === true)) return null;
  if (!row.token.lastUsedAt || now.getTime() - row.token.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
    // Not while a job writes, which the call would wait for: then soon after, or at the next call.
    const touch = () => db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.token.id)).run();
    writeYielding(db, touch).catch(() => {});
  }
  return { token: { id: row.token.id, name: row.token.name }, user: row.user, agencyName: row.agencyName };
}
