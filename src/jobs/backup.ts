import type { Deps } from "../deps.ts";
import { backupDatabase, backupPath, pruneBackups } from "../services/backup.ts";
import type { Job } from "./registry.ts";

export const backupJob: Job = {
  name: "backup",
  pattern: (config) => config.BACKUP_CRON,
  run({ db, clock, config, log }: Deps) {
    const { path, bytes } = backupDatabase(db, backupPath(config, clock.now(), "placement"));
    const removed = pruneBackups(config, config.BACKUP_KEEP);
    log.info("backup written", { path, bytes, removed: removed.length || undefined });
  },
};
