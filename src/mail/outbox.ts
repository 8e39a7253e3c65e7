import { and, asc, desc, eq, isNull, lte, or } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { mailOutbox } from "../db/schema.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../services/clock.ts";
import type { MailTransport } from "./transport.ts";

export type OutgoingMail = { to: string[]; subject: string; text: string };

const MAX_ATTEMPTS = 10;
const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 60 * 60_000;
const BATCH = 50;

/** Queues a message; call it inside the transaction that changes the state it reports. */
export function queueMail(db: Db, clock: Clock, mail: OutgoingMail): void {
  if (mail.to.length === 0) return;
  db.insert(mailOutbox)
    .values({ recipients: mail.to, subject: mail.subject, textBody: mail.text, createdAt: clock.now() })
    .run();
}

/** Sends the messages that are due; a failure waits longer each time, then gives up. */
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
    .where(and(eq(mailOutbox.status, "pending"), or(isNull(mailOutbox.nextAttemptAt), lte(mailOutbox.nextAttemptAt, now))))
    .orderBy(asc(mailOutbox.id))
    .limit(BATCH)
    .all();
  let sent = 0;
  let failed = 0;
  for (const mail of due) {
    try {
      await transport.send({ id: mail.id, from, to: mail.recipients, subject: mail.subject, text: mail.textBody });
      db.update(mailOutbox)
        .set({ status: "sent", sentAt: clock.now(), attempts: mail.attempts + 1, lastError: null })
        .where(eq(mailOutbox.id, mail.id))
        .run();
      sent++;
    } catch (error) {
      failed++;
      const attempts = mail.attempts + 1;
      const message = error instanceof Error ? error.message : String(error);
      log.warn("mail not sent", { outbox_id: mail.id, attempt: attempts, error: message });
      db.update(mailOutbox)
        .set({
          attempts,
          lastError: message,
          status: attempts >= MAX_ATTEMPTS ? "failed" : "pending",
          nextAttemptAt: new Date(now.getTime() + Math.min(FIRST_RETRY_MS * 2 ** (attempts - 1), MAX_RETRY_MS)),
        })
        .where(eq(mailOutbox.id, mail.id))
        .run();
    }
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
): Promise<{ ok: true } | { ok: false; error: string }> {
  const row = db
    .insert(mailOutbox)
    .values({
      recipients: [to],
      subject: "Placement: messaggio di prova",
      textBody: "Questo è un messaggio di prova inviato da Placement per verificare la configurazione della posta.",
      createdAt: clock.now(),
    })
    .returning()
    .get();
  try {
    await transport.send({ id: row.id, from, to: [to], subject: row.subject, text: row.textBody });
    db.update(mailOutbox).set({ status: "sent", attempts: 1, sentAt: clock.now() }).where(eq(mailOutbox.id, row.id)).run();
    return { ok: true };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    db.update(mailOutbox).set({ status: "failed", attempts: 1, lastError: message }).where(eq(mailOutbox.id, row.id)).run();
    return { ok: false, error: message };
  }
}
