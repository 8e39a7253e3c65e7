import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { dataPaths, type Config } from "../config.ts";

export type MailMessage = { id: number; from: string; to: string[]; subject: string; text: string };

/** Where mail goes: an SMTP server, or .eml files when none is configured. */
export type MailTransport = {
  kind: "smtp" | "files";
  send(message: MailMessage): Promise<void>;
};

export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer.createTransport(url);
  return {
    kind: "smtp",
    async send(message) {
      const info = await transporter.sendMail({ from: message.from, to: message.to, subject: message.subject, text: message.text });
      // An LMTP server refuses recipients after the message, and nodemailer then resolves
      // with nobody accepted: that is no delivery.
      if (info.accepted.length === 0) {
        throw new Error(`il server di posta ha rifiutato ogni destinatario (${message.to.join(", ")})`);
      }
    },
  };
}

/** Writes each message as `<outbox id>.eml`, so that the program works with no SMTP server. */
export function fileTransport(dir: string): MailTransport {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    kind: "files",
    async send(message) {
      mkdirSync(dir, { recursive: true });
      const info = await builder.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
      await Bun.write(join(dir, emlFileName(message.id)), info.message as Buffer);
    },
  };
}

/** SMTP when SMTP_URL is set, otherwise files in the data folder. */
export function mailTransportFor(config: Pick<Config, "SMTP_URL" | "DATA_DIR">): MailTransport {
  return config.SMTP_URL ? smtpTransport(config.SMTP_URL) : fileTransport(dataPaths(config).mail);
}

export const emlFileName = (outboxId: number) => `${outboxId}.eml`;

/** Deletes the files of messages whose rows are gone (a campaign's retention). */
export function removeMailFiles(config: Pick<Config, "DATA_DIR">, ids: readonly number[]): void {
  const dir = dataPaths(config).mail;
  for (const id of ids) rmSync(join(dir, emlFileName(id)), { force: true });
}

/** Deletes the message files written longer ago than the retention period; the outbox keeps its rows. */
export function expireMailFiles(config: Pick<Config, "DATA_DIR" | "FILE_RETENTION_DAYS">, now: Date): number {
  const dir = dataPaths(config).mail;
  if (!existsSync(dir)) return 0;
  const cutoff = now.getTime() - config.FILE_RETENTION_DAYS * 86_400_000;
  let removed = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.endsWith(".eml") && statSync(path).mtimeMs < cutoff) {
      rmSync(path, { force: true });
      removed++;
    }
  }
  return removed;
}
