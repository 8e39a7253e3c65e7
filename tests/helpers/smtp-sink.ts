import { SMTPServer } from "smtp-server";

export type ReceivedMail = { from: string; to: string[]; raw: string };

export type SmtpSinkOptions = {
  port?: number;
  /** The recipients to refuse, as a real server refuses an unknown or full mailbox. */
  refuses?: (address: string) => boolean;
  /** Speak LMTP, which refuses recipients after the message rather than before it. */
  lmtp?: boolean;
  /** Waited for after a message arrived and before it is acknowledged: a slow server. */
  hold?: () => Promise<void>;
};

const mailboxUnavailable = () => Object.assign(new Error("mailbox unavailable"), { responseCode: 550 });

/** A real SMTP (or LMTP) server on loopback that keeps what it receives. */
export async function startSmtpSink(options: SmtpSinkOptions = {}) {
  const messages: ReceivedMail[] = [];
  // Messages whose data has started to arrive, acknowledged or not.
  const arriving = { count: 0 };
  const refuses = options.refuses ?? (() => false);
  const lmtp = options.lmtp ?? false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    lmtp,
    onRcptTo(address, _session, callback) {
      callback(!lmtp && refuses(address.address) ? mailboxUnavailable() : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      arriving.count++;
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", async () => {
        await options.hold?.();
        const to = session.envelope.rcptTo.map((r) => r.address);
        const accepted = to.filter((address) => !refuses(address));
        if (accepted.length) {
          messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: accepted,
            raw: Buffer.concat(chunks).toString("utf8"),
          });
        }
        if (!lmtp) return callback();
        // LMTP answers once per recipient; smtp-server's types know only SMTP's single answer.
        const replies = to.map((address) => (refuses(address) ? mailboxUnavailable() : "OK: message accepted"));
        (callback as (error: null, replies: (Error | string)[]) => void)(null, replies);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.server.address();
  return {
    port: typeof address === "object" && address ? address.port : (options.port ?? 0),
    messages,
    arriving,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
