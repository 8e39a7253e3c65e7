import type { Deps } from "../deps.ts";
import { backupDatabase, backupPath, pruneBackups } from "../services/backup.ts";
import type { Job } from "./registry.ts";

export const backupJob: Job = {
  name: "backup",
  pattern: (config) => config.BACKUP_CRON,
  async run({ db, clock, config, log, keys }: Deps) {
    const { path, bytes } = await backupDatabase(db, backupPath(config, clock.now(), "placement"), keys[0]!);
    const removed = pruneBackups(config, config.BACKUP_KEEP);
    log.info("backup written", { path, bytes, removed: removed.length || undefined });
  },
};
