import { eq } from "drizzle-orm";
import * as OTPAuth from "otpauth";
import QRCode from "qrcode";
import type { Db } from "../db/client.ts";
import { recoveryCodes, sessions, users } from "../db/schema.ts";
import { clearFailures, createSession, recordFailure, throttleWaitMs, type User } from "./auth.ts";
import type { Clock } from "./clock.ts";
import { sha256 } from "./secrets.ts";

/*
 * The second factor (TOTP, RFC 6238): six digits every thirty seconds from the secret the
 * user's authenticator app holds, or one of ten single-use recovery codes.
 */

const PERIOD = 30;
const DIGITS = 6;
// A code of the step before or after is accepted too: a phone's clock may be off by seconds.
const WINDOW = 1;
const ISSUER = "Placement";
const RECOVERY_CODES = 10;
// No 0/O or 1/I/L: the codes are copied by hand from paper.
const RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

const totp = (secret: string, label = "") =>
  new OTPAuth.TOTP({ issuer: ISSUER, label, algorithm: "SHA1", digits: DIGITS, period: PERIOD, secret: OTPAuth.Secret.fromBase32(secret) });

/** The time step a code belongs to, when it is valid at `now`; null otherwise. */
function stepOf(secret: string, code: string, now: Date): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secret).validate({ token: code, timestamp: now.getTime(), window: WINDOW });
  return delta === null ? null : OTPAuth.TOTP.counter({ period: PERIOD, timestamp: now.getTime() }) + delta;
}

/** A code as the authenticator shows it at `now`: for tests and the demo. */
export const currentCode = (secret: string, now: Date) => totp(secret).generate({ timestamp: now.getTime() });

/** Whether the user must sign in with a second factor: fund operators outside demo mode, and users of an agency that asks for it. */
export const secondFactorRequired = (user: Pick<User, "role">, agencyRequires: boolean, demo: boolean): boolean =>
  user.role === "fund_operator" ? !demo : agencyRequires;

export type Enrolment = { secret: string; uri: string; qrSvg: string };

/**
 * A new secret to enrol, kept on the session until confirmed with a code (another session
 * of the same user neither sees it nor replaces it); shown as a QR code drawn here.
 */
export async function startEnrolment(db: Db, sessionId: string, user: User): Promise<Enrolment> {
  const secret = new OTPAuth.Secret({ size: 20 }).base32;
  db.update(sessions).set({ totpPendingSecret: secret }).where(eq(sessions.idHash, sessionId)).run();
  return enrolmentOf(secret, user.email);
}

/** The session's enrolment under way, to show again after a wrong code. */
export async function pendingEnrolment(db: Db, sessionId: string, user: User): Promise<Enrolment | null> {
  const secret = pendingSecret(db, sessionId);
  return secret ? enrolmentOf(secret, user.email) : null;
}

const pendingSecret = (db: Db, sessionId: string) =>
  db.select({ secret: sessions.totpPendingSecret }).from(sessions).where(eq(sessions.idHash, sessionId)).get()?.secret ?? null;

async function enrolmentOf(secret: string, email: string): Promise<Enrolment> {
  const uri = totp(secret, email).toString();
  const qrSvg = await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
  return { secret, uri, qrSvg };
}

const THROTTLED = (seconds: number) =>
  seconds > 3600
    ? "Troppi codici non corretti: la verifica in due passaggi di questa utenza è bloccata per un giorno. Se non eri tu, avvisa subito il Fondo, che può anche sbloccarla azzerandola."
    : `Troppi codici non corretti. Riprova tra ${seconds === 1 ? "1 secondo" : `${seconds} secondi`}.`;

export type CodeCheck = { ok: true } | { ok: false; throttled: boolean; retryAfterSeconds?: number; error: string };

function throttled(db: Db, userId: number, address: string, now: Date): CodeCheck | null {
  const wait = Math.max(throttleWaitMs(db, "second", String(userId), now.getTime()), throttleWaitMs(db, "address", address, now.getTime()));
  if (wait <= 0) return null;
  const seconds = Math.ceil(wait / 1000);
  return { ok: false, throttled: true, retryAfterSeconds: seconds, error: THROTTLED(seconds) };
}

function failure(db: Db, userId: number, address: string, now: Date, error: string): CodeCheck {
  recordFailure(db, "second", String(userId), now);
  recordFailure(db, "address", address, now);
  return { ok: false, throttled: false, error };
}

/** A recovery code as the user may type it: any case, spaces or dashes. */
const normalizeRecovery = (code: string) => code.toUpperCase().replace(/[\s-]/g, "");

function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODES }, () => {
    const bytes = crypto.getRandomValues(new Uint8Array(10));
    const text = [...bytes].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]).join("");
    return `${text.slice(0, 5)}-${text.slice(5)}`;
  });
}

/**
 * Confirms the enrolment with a code from the app. On success the second factor is on, every
 * session of the user ends (the others never passed it) and the caller goes on under the
 * fresh one returned, with the ten recovery codes to show once.
 */
export function confirmEnrolment(
  db: Db,
  clock: Clock,
  sessionId: string,
  user: User,
  code: string,
  address: string,
): { ok: true; recoveryCodes: string[]; session: { token: string; csrfToken: string } } | Extract<CodeCheck, { ok: false }> {
  const now = clock.now();
  const stop = throttled(db, user.id, address, now);
  if (stop && !stop.ok) return stop;
  const secret = pendingSecret(db, sessionId);
  if (!secret) return { ok: false, throttled: false, error: "Questa attivazione è scaduta: premi di nuovo «Attiva» e inquadra il nuovo codice QR." };
  if (db.select({ secret: users.totpSecret }).from(users).where(eq(users.id, user.id)).get()?.secret) {
    return { ok: false, throttled: false, error: "La verifica in due passaggi è già attiva per la tua utenza." };
  }
  const step = stepOf(secret, code.trim(), now);
  if (step === null) {
    return failure(db, user.id, address, now, "Il codice non è corretto: scrivi le sei cifre che l'app mostra ora per Placement.") as Extract<CodeCheck, { ok: false }>;
  }
  let codes: string[] = [];
  const session = db.transaction((tx) => {
    tx.update(users).set({ totpSecret: secret, totpLastStep: step }).where(eq(users.id, user.id)).run();
    codes = replaceRecoveryCodes(db, user.id);
    tx.delete(sessions).where(eq(sessions.userId, user.id)).run();
    return createSession(db, clock, user.id);
  });
  clearFailures(db, "second", String(user.id));
  return { ok: true, recoveryCodes: codes, session };
}

/**
 * The second step of signing in: a code from the app, each good once (a code seen in its
 * window is refused the second time), or an unused recovery code, then used up.
 */
export function checkSecondFactor(db: Db, clock: Clock, userId: number, code: string, address: string): CodeCheck & { recovery?: boolean } {
  const now = clock.now();
  const stop = throttled(db, userId, address, now);
  if (stop) return stop;
  const user = db.select({ secret: users.totpSecret }).from(users).where(eq(users.id, userId)).get();
  if (!user?.secret) return { ok: false, throttled: false, error: "La verifica in due passaggi non è attiva per questa utenza: accedi di nuovo." };
  const typed = code.trim();
  if (/^\d{6}$/.test(typed)) {
    const step = stepOf(user.secret, typed, now);
    // The step moves forward only: a code already used, or an older one, is refused.
    const accepted =
      step !== null &&
      db.$client.query("UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)").run(step, userId, step).changes === 1;
    if (!accepted) return failure(db, userId, address, now, "Il codice non è corretto o è già stato usato: scrivi le sei cifre che l'app mostra ora.");
    clearFailures(db, "second", String(userId));
    return { ok: true };
  }
  const used = db.$client
    .query("UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL")
    .run(now.getTime(), userId, sha256(normalizeRecovery(typed)));
  if (used.changes !== 1) {
    return failure(db, userId, address, now, "Il codice non è corretto o è già stato usato: scrivi le sei cifre dell'app o un codice di recupero non ancora usato.");
  }
  clearFailures(db, "second", String(userId));
  return { ok: true, recovery: true };
}

/** Ten new recovery codes in place of the user's old ones, used or not; only their hashes are kept. */
export function replaceRecoveryCodes(db: Db, userId: number): string[] {
  const codes = newRecoveryCodes();
  // bun:sqlite's transaction: a savepoint when called inside the enrolment's.
  db.$client.transaction(() => {
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run();
    db.insert(recoveryCodes).values(codes.map((c) => ({ userId, codeHash: sha256(normalizeRecovery(c)) }))).run();
  })();
  return codes;
}

/** Recovery codes not used yet. */
export function recoveryCodesLeft(db: Db, userId: number): number {
  return (db.$client.query("SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL").get(userId) as { n: number }).n;
}

/**
 * Removes a user's second factor: for a lost phone (by the fund or the command line) or the
 * user's own choice where it is not required. Every session of the user ends.
 */
export function resetSecondFactor(db: Db, userId: number): void {
  db.transaction((tx) => {
    tx.update(users).set({ totpSecret: null, totpLastStep: null }).where(eq(users.id, userId)).run();
    tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run();
    tx.delete(sessions).where(eq(sessions.userId, userId)).run();
  });
  // A second step shut by wrong codes opens again with the new factor.
  clearFailures(db, "second", String(userId));
}
