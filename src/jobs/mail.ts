import type { Deps } from "../deps.ts";
import { sendPendingMail } from "../mail/outbox.ts";
import type { Job } from "./registry.ts";

export const mailJob: Job = {
  name: "mail",
  pattern: (config) => config.MAIL_CRON,
  async run({ db, clock, mail, config, log }: Deps) {
    await sendPendingMail(db, clock, mail, config.MAIL_FROM, log);
  },
};
