import type { Deps } from "../deps.ts";
import { purgeExpiredSessions } from "../services/auth.ts";
import { expireOldExports } from "../services/exports.ts";
import { purgeIdempotencyKeys } from "../services/idempotency.ts";
import { expireOldUploadFiles } from "../services/uploads.ts";
import { expireMailFiles, removeMailFiles } from "../mail/transport.ts";
import { anonymiseCampaign, campaignsPastRetention, type Anonymised } from "../services/retention.ts";
import { pruneBackups } from "../services/backup.ts";
import type { Job } from "./registry.ts";

export const maintenanceJob: Job = {
  name: "maintenance",
  pattern: (config) => config.MAINTENANCE_CRON,
  run({ db, clock, config }: Deps) {
    purgeExpiredSessions(db, clock, {
      idleMs: config.SESSION_IDLE_MINUTES * 60_000,
      absoluteMs: config.SESSION_MAX_HOURS * 3_600_000,
    });
    purgeIdempotencyKeys(db, clock);
    expireOldExports(db, clock, config);
    expireOldUploadFiles(db, clock, config);
    expireMailFiles(config, clock.now());
    pruneBackups(config, config.BACKUP_KEEP);
    for (const campaign of campaignsPastRetention(db, clock, config)) anonymise({ db, clock, config }, campaign.year, { userId: null });
  },
};

/** Anonymises a campaign, and removes the files of the messages it removed. */
export function anonymise(deps: Pick<Deps, "db" | "clock" | "config">, year: number, by: { userId: number | null; address?: string }): Anonymised {
  const done = anonymiseCampaign(deps.db, deps.clock, deps.config, year, by);
  removeMailFiles(deps.config, done.mails);
  return done;
}
