import { and, asc, desc, eq, isNull, lte, or } from "drizzle-orm";
import { writeYielding, type Db } from "../db/client.ts";
import { mailOutbox } from "../db/schema.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../services/clock.ts";
import type { MailTransport } from "./transport.ts";

/** A message; `year` is the campaign it is about, whose retention removes it. */
export type OutgoingMail = { to: string[]; subject: string; text: string; year?: number };

const MAX_ATTEMPTS = 10;
const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 60 * 60_000;
const BATCH = 50;
// A message is claimed for this long before it is sent. A round that died after sending and
// before recording leaves it claimed: once the lease runs out it is sent again, that once.
const SEND_LEASE_MS = 10 * 60_000;

const UNRECORDED =
  "L'esito dell'ultimo invio non è stato registrato: controlla se il messaggio è arrivato prima di usare Rinvia.";

/** Queues a message; call it inside the transaction that changes the state it reports. */
export function queueMail(db: Db, clock: Clock, mail: OutgoingMail): void {
  if (mail.to.length === 0) return;
  db.insert(mailOutbox)
    .values({ recipients: mail.to, year: mail.year ?? null, subject: mail.subject, textBody: mail.text, createdAt: clock.now() })
    .run();
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

type OutboxRow = typeof mailOutbox.$inferSelect;
type Outcome = Partial<Pick<OutboxRow, "status" | "sentAt" | "lastError" | "nextAttemptAt">>;

/**
 * Records what came of attempt `attempt` of message `id`, unless another round has claimed
 * it since. A refused write is logged: the claim's lease then decides what happens next.
 * The rounds run on the server's thread, so their writes do not wait there for a job's.
 */
async function recordOutcome(db: Db, log: Logger, id: number, attempt: number, outcome: Outcome): Promise<void> {
  try {
    await writeYielding(db, () =>
      db
        .update(mailOutbox)
        .set(outcome)
        .where(and(eq(mailOutbox.id, id), eq(mailOutbox.attempts, attempt)))
        .run(),
    );
  } catch (error) {
    log.error("mail outcome not recorded", { outbox_id: id, attempt, error: errorText(error) });
  }
}

/**
 * Sends the messages that are due; a failure waits longer each time, then gives up. Each
 * message is claimed by a write before it is sent: when the database refuses that write,
 * nothing is sent.
 */
export async function sendPendingMail(
  db: Db,
  clock: Clock,
  transport: MailTransport,
  from: string,
  log: Logger,
): Promise<{ sent: number; failed: number }> {
  const now = clock.now();
  const due = db
    .select()
    .from(mailOutbox)
    .where(
      or(
        and(eq(mailOutbox.status, "pending"), or(isNull(mailOutbox.nextAttemptAt), lte(mailOutbox.nextAttemptAt, now))),
        and(eq(mailOutbox.status, "sending"), lte(mailOutbox.nextAttemptAt, now)),
      ),
    )
    .orderBy(asc(mailOutbox.id))
    .limit(BATCH)
    .all();
  let sent = 0;
  let failed = 0;
  for (const mail of due) {
    // One message per turn of the event loop: the round runs on the server's thread, and
    // fifty messages composed in one go held the pages for tens of milliseconds (bench:burst).
    await new Promise((resolve) => setImmediate(resolve));
    const attempt = mail.attempts + 1;
    if (mail.status === "sending" && mail.attempts >= MAX_ATTEMPTS) {
      await recordOutcome(db, log, mail.id, mail.attempts, { status: "failed", lastError: UNRECORDED });
      continue;
    }
    let claimed: { id: number }[];
    try {
      claimed = await writeYielding(db, () =>
        db
          .update(mailOutbox)
          .set({ status: "sending", attempts: attempt, nextAttemptAt: new Date(clock.now().getTime() + SEND_LEASE_MS) })
          .where(and(eq(mailOutbox.id, mail.id), eq(mailOutbox.attempts, mail.attempts)))
          .returning({ id: mailOutbox.id })
          .all(),
      );
    } catch (error) {
      // Sending now could not be recorded either, and would be repeated at every round.
      log.error("mail not sent: the outbox cannot be written", { outbox_id: mail.id, error: errorText(error) });
      break;
    }
    if (claimed.length === 0) continue;
    try {
      await transport.send({ id: mail.id, from, to: mail.recipients, subject: mail.subject, text: mail.textBody });
    } catch (error) {
      failed++;
      const message = errorText(error);
      log.warn("mail not sent", { outbox_id: mail.id, attempt, error: message });
      await recordOutcome(db, log, mail.id, attempt, {
        lastError: message,
        status: attempt >= MAX_ATTEMPTS ? "failed" : "pending",
        nextAttemptAt: new Date(now.getTime() + Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS)),
      });
      continue;
    }
    sent++;
    await recordOutcome(db, log, mail.id, attempt, { status: "sent", sentAt: clock.now(), lastError: null, nextAttemptAt: null });
  }
  return { sent, failed };
}

export function listOutbox(db: Db, limit = 200) {
  return db.select().from(mailOutbox).orderBy(desc(mailOutbox.id)).limit(limit).all();
}

/** A failed message goes back to the queue, to be tried again at the next round. */
export function resendMail(db: Db, id: number): boolean {
  const resent = db
    .update(mailOutbox)
    .set({ status: "pending", attempts: 0, nextAttemptAt: null })
    .where(and(eq(mailOutbox.id, id), eq(mailOutbox.status, "failed")))
    .returning({ id: mailOutbox.id })
    .all();
  return resent.length === 1;
}

/** Sends a test message now, through the outbox so that it is listed like the others. */
export async function sendTestMail(
  db: Db,
  clock: Clock,
  transport: MailTransport,
  from: string,
  to: string,
  log: Logger,
): Promise<{ ok: true } | { ok: false; error: string }> {
  // Claimed from the start, so that the outbox rounds do not send it too.
  const row = db
    .insert(mailOutbox)
    .values({
      recipients: [to],
      subject: "Placement: messaggio di prova",
      textBody: "Questo è un messaggio di prova inviato da Placement per verificare la configurazione della posta.",
      status: "sending",
      attempts: 1,
      nextAttemptAt: new Date(clock.now().getTime() + SEND_LEASE_MS),
      createdAt: clock.now(),
    })
    .returning()
    .get();
  try {
    await transport.send({ id: row.id, from, to: [to], subject: row.subject, text: row.textBody });
  } catch (error) {
    const message = errorText(error);
    await recordOutcome(db, log, row.id, 1, { status: "failed", lastError: message, nextAttemptAt: null });
    return { ok: false, error: message };
  }
  await recordOutcome(db, log, row.id, 1, { status: "sent", sentAt: clock.now(), nextAttemptAt: null });
  return { ok: true };
}
