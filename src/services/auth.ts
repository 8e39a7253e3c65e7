import { eq, lt, or, sql } from "drizzle-orm";
import { z } from "zod";
import { preparedPerDatabase, writeYielding, type Db } from "../db/client.ts";
import { agencies, loginThrottle, sessions, users, type Role } from "../db/schema.ts";
import { revokeTokensOf } from "./api-tokens.ts";
import type { Clock } from "./clock.ts";
import { randomToken, sha256 } from "./secrets.ts";

export type User = typeof users.$inferSelect;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

// The one rule for users' addresses, strict enough that the mailer delivers to each.
const userEmailRule = z.email().max(254);

/** A user's e-mail in its stored form, or null when it is not an address mail can go to. */
export function parseUserEmail(raw: string): string | null {
  const email = normalizeEmail(raw);
  return userEmailRule.safeParse(email).success ? email : null;
}

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: "argon2id" });
}

// Verified against when the e-mail is unknown, so that both answers take the same time.
let decoyHash: Promise<string> | undefined;
const decoy = () => (decoyHash ??= hashPassword(crypto.randomUUID()));

// Throttling: a few free failures per key, then a doubling wait. The wait per account is
// capped low so that a stranger cannot keep a user out for long; per address it grows
// further, since that address is the stranger's own. Whoever reaches the second step
// already has the password: its failures are remembered for a day, and after
// SECOND_STEP_LOCK of them it stays shut until a day has passed without one (or the fund
// resets the second factor), so that six digits are not guessed over weeks.
const FREE_FAILURES = 5;
const MAX_WAIT_MS = { account: 60_000, address: 15 * 60_000, second: 15 * 60_000 } as const;
const FAILURE_MEMORY_MS = { account: 15 * 60_000, address: 15 * 60_000, second: 24 * 3_600_000 } as const;
const SECOND_STEP_LOCK = 30;

type ThrottleKind = keyof typeof MAX_WAIT_MS;

export function throttleWaitMs(db: Db, kind: ThrottleKind, key: string, now: number): number {
  const row = db.select().from(loginThrottle).where(eq(loginThrottle.key, `${kind}:${key}`)).get();
  if (!row || row.failures < FREE_FAILURES || now - row.lastFailureAt.getTime() > FAILURE_MEMORY_MS[kind]) return 0;
  const wait =
    kind === "second" && row.failures >= SECOND_STEP_LOCK
      ? FAILURE_MEMORY_MS.second
      : Math.min(1000 * 2 ** (row.failures - FREE_FAILURES), MAX_WAIT_MS[kind]);
  return Math.max(0, row.lastFailureAt.getTime() + wait - now);
}

export function recordFailure(db: Db, kind: ThrottleKind, key: string, now: Date): void {
  const fullKey = `${kind}:${key}`;
  const row = db.select().from(loginThrottle).where(eq(loginThrottle.key, fullKey)).get();
  const stale = !row || now.getTime() - row.lastFailureAt.getTime() > FAILURE_MEMORY_MS[kind];
  db.insert(loginThrottle)
    .values({ key: fullKey, failures: 1, lastFailureAt: now })
    .onConflictDoUpdate({
      target: loginThrottle.key,
      set: { failures: stale ? 1 : row.failures + 1, lastFailureAt: now },
    })
    .run();
}

export type SignInResult =
  | { ok: true; user: User }
  | { ok: false; reason: "invalid" | "disabled" | "agency_disabled" }
  | { ok: false; reason: "throttled"; retryAfterSeconds: number };

export async function signIn(
  db: Db,
  clock: Clock,
  input: { email: string; password: string; address: string },
): Promise<SignInResult> {
  const email = normalizeEmail(input.email);
  const now = clock.now();
  const wait = Math.max(
    throttleWaitMs(db, "account", email, now.getTime()),
    throttleWaitMs(db, "address", input.address, now.getTime()),
  );
  if (wait > 0) return { ok: false, reason: "throttled", retryAfterSeconds: Math.ceil(wait / 1000) };

  const row = db
    .select({ user: users, agencyDisabled: agencies.disabled })
    .from(users)
    .leftJoin(agencies, eq(agencies.id, users.agencyId))
    .where(eq(users.email, email))
    .get();
  const user = row?.user;
  const valid = await Bun.password.verify(input.password, user?.passwordHash ?? (await decoy()));
  if (!user || !valid) {
    recordFailure(db, "account", email, now);
    recordFailure(db, "address", input.address, now);
    return { ok: false, reason: "invalid" };
  }
  if (user.disabled) return { ok: false, reason: "disabled" };
  if (row.agencyDisabled) return { ok: false, reason: "agency_disabled" };
  clearFailures(db, "account", email);
  return { ok: true, user };
}

export function clearFailures(db: Db, kind: ThrottleKind, key: string): void {
  db.delete(loginThrottle).where(eq(loginThrottle.key, `${kind}:${key}`)).run();
}

export type SessionTimeouts = { idleMs: number; absoluteMs: number };


/**
 * A new opaque id at every sign-in; only its hash is stored. A `pending` one is past the
 * password only and opens nothing but the second step.
 */
export function createSession(db: Db, clock: Clock, userId: number, pending = false): { token: string; csrfToken: string } {
  const token = randomToken();
  const csrfToken = randomToken();
  const now = clock.now();
  db.insert(sessions).values({ idHash: sha256(token), userId, csrfToken, pending, createdAt: now, lastSeenAt: now }).run();
  return { token, csrfToken };
}

// The second step must follow the password within this time.
const PENDING_MS = 5 * 60_000;

export type ActiveSession = {
  /** The stored id of the session (the hash of its cookie). */
  idHash: string;
  user: User;
  csrfToken: string;
  agencyName: string | null;
  pending: boolean;
  agencyRequiresTwoFactor: boolean;
};

// Every request reads its session: the query is built once per database.
const sessionQuery = preparedPerDatabase((db) =>
  db
    .select({ session: sessions, user: users, agencyName: agencies.name, agencyDisabled: agencies.disabled, twoFactorRequired: agencies.twoFactorRequired })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(agencies, eq(agencies.id, users.agencyId))
    .where(eq(sessions.idHash, sql.placeholder("idHash")))
    .prepare(),
);

// Writing last-seen on every request would turn every page view into a write.
const TOUCH_INTERVAL_MS = 60_000;

export function loadSession(db: Db, clock: Clock, token: string, timeouts: SessionTimeouts): ActiveSession | null {
  const idHash = sha256(token);
  const row = sessionQuery(db).get({ idHash });
  if (!row) return null;
  const now = clock.now().getTime();
  const expired =
    now - row.session.lastSeenAt.getTime() > timeouts.idleMs ||
    now - row.session.createdAt.getTime() > timeouts.absoluteMs ||
    (row.session.pending && now - row.session.createdAt.getTime() > PENDING_MS) ||
    row.user.disabled ||
    row.agencyDisabled === true;
  if (expired) {
    db.delete(sessions).where(eq(sessions.idHash, idHash)).run();
    return null;
  }
  if (now - row.session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
    // Not while a job writes, which the page would wait for: then soon after, or at the next request.
    const touch = () => db.update(sessions).set({ lastSeenAt: new Date(now) }).where(eq(sessions.idHash, idHash)).run();
    writeYielding(db, touch).catch(() => {});
  }
  return {
    idHash,
    user: row.user,
    csrfToken: row.session.csrfToken,
    agencyName: row.agencyName,
    pending: row.session.pending,
    agencyRequiresTwoFactor: row.twoFactorRequired === true,
  };
}

export function deleteSession(db: Db, token: string): void {
  db.delete(sessions).where(eq(sessions.idHash, sha256(token))).run();
}

/** Drops sessions past their idle timeout and throttle rows nobody remembers. */
export function purgeExpiredSessions(db: Db, clock: Clock, timeouts: SessionTimeouts): void {
  const now = clock.now().getTime();
  db.delete(sessions)
    .where(
      or(
        lt(sessions.lastSeenAt, new Date(now - timeouts.idleMs)),
        lt(sessions.createdAt, new Date(now - timeouts.absoluteMs)),
      ),
    )
    .run();
  db.$client
    .query("DELETE FROM login_throttle WHERE last_failure_at < ? AND (key NOT LIKE 'second:%' OR last_failure_at < ?)")
    .run(now - FAILURE_MEMORY_MS.account, now - FAILURE_MEMORY_MS.second);
}

export async function createUser(
  db: Db,
  input: {
    email: string;
    name: string;
    role: Role;
    agencyId: number | null;
    placementPermission?: boolean;
    password: string;
    mustChangePassword?: boolean;
  },
): Promise<User> {
  return db
    .insert(users)
    .values({
      email: normalizeEmail(input.email),
      name: input.name,
      role: input.role,
      agencyId: input.agencyId,
      // The rpa always holds the placement permission.
      placementPermission: input.role === "rpa" || (input.placementPermission ?? false),
      passwordHash: await hashPassword(input.password),
      mustChangePassword: input.mustChangePassword ?? false,
    })
    .returning()
    .get();
}

export function hasPlacementPermission(user: Pick<User, "role" | "placementPermission">): boolean {
  return user.role === "rpa" || user.role === "fund_operator" || user.placementPermission;
}

export const isFundOperator = (user: Pick<User, "role">) => user.role === "fund_operator";

export const MIN_PASSWORD_LENGTH = 10;

/** Why a new password cannot be used, as a sentence; null when it can. */
export function passwordProblem(password: string, email: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `La nuova password deve avere almeno ${MIN_PASSWORD_LENGTH} caratteri.`;
  if (password.toLowerCase().includes(email.split("@")[0]!.toLowerCase())) {
    return "La nuova password non deve contenere il tuo nome utente.";
  }
  return null;
}

/**
 * The user's own change: the current password first, then the new one. Every session of
 * the user ends, since one may belong to whoever knew the old password; the caller goes on
 * under the fresh session returned.
 */
export async function changePassword(
  db: Db,
  clock: Clock,
  user: User,
  current: string,
  next: string,
): Promise<{ ok: true; session: { token: string; csrfToken: string } } | { ok: false; field: "current" | "next"; error: string }> {
  if (!(await Bun.password.verify(current, user.passwordHash))) {
    return { ok: false, field: "current", error: "La password attuale non è corretta." };
  }
  if (current === next) return { ok: false, field: "next", error: "La nuova password deve essere diversa da quella attuale." };
  const problem = passwordProblem(next, user.email);
  if (problem) return { ok: false, field: "next", error: problem };
  const passwordHash = await hashPassword(next);
  const session = db.transaction(() => {
    db.update(users).set({ passwordHash, mustChangePassword: false }).where(eq(users.id, user.id)).run();
    db.delete(sessions).where(eq(sessions.userId, user.id)).run();
    revokeTokensOf(db, clock, [user.id], "password");
    return createSession(db, clock, user.id);
  });
  return { ok: true, session };
}

/** A one-time password the user must change at the next sign-in; open sessions end, API tokens are revoked. */
export async function resetPassword(db: Db, clock: Clock, email: string): Promise<string | null> {
  const user = db.select().from(users).where(eq(users.email, normalizeEmail(email))).get();
  if (!user) return null;
  const password = oneTimePassword();
  const passwordHash = await hashPassword(password);
  db.transaction(() => {
    db.update(users).set({ passwordHash, mustChangePassword: true }).where(eq(users.id, user.id)).run();
    db.delete(sessions).where(eq(sessions.userId, user.id)).run();
    revokeTokensOf(db, clock, [user.id], "password");
  });
  return password;
}

export const oneTimePassword = () => Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("base64url");
