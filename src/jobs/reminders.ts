import type { Deps } from "../deps.ts";
import { incompleteListMail, reminderMail } from "../mail/notices.ts";
import { queueMail } from "../mail/outbox.ts";
import { daysLeft } from "../services/campaigns.ts";
import { agencyRecipients, fundRecipients } from "../services/notifications.ts";
import { incompleteListsDue, isIncomplete, recordIncompleteList, recordReminder, remindersDue } from "../services/reminders.ts";
import type { Job } from "./registry.ts";

/** Decides the reminders and the fund's lists that are due, each with its mail in one transaction. */
export const reminderJob: Job = {
  name: "reminders",
  pattern: (config) => config.REMINDER_CRON,
  run(deps: Deps) {
    const { db, clock, config } = deps;
    for (const due of remindersDue(db, clock)) {
      const { campaign, gaps } = due;
      const incomplete = isIncomplete(gaps);
      const to = incomplete ? agencyRecipients(db, due.agencyId, null) : [];
      db.transaction(() => {
        const outcome = !incomplete ? "complete" : to.length ? "sent" : "unreachable";
        if (!recordReminder(db, clock, due, outcome) || outcome !== "sent") return;
        queueMail(
          db,
          clock,
          reminderMail({
            to,
            year: campaign.year,
            deadline: campaign.deadline,
            extended: campaign.extension !== null,
            daysLeft: daysLeft(campaign, clock.now()),
            ...gaps,
            placementUrl: `${config.BASE_URL}/placement`,
          }),
        );
      });
    }
    for (const list of incompleteListsDue(db, clock)) {
      const operators = fundRecipients(db);
      db.transaction(() => {
        if (!recordIncompleteList(db, clock, list.year)) return;
        queueMail(
          db,
          clock,
          incompleteListMail({
            to: operators,
            year: list.year,
            deadline: list.deadline,
            agencies: list.agencies.map((a) => ({ ...a, ...a.gaps })),
            fundUrl: `${config.BASE_URL}/fondo?anno=${list.year}`,
          }),
        );
      });
    }
  },
};
