import { Cron } from "croner";
import type { Config } from "../config.ts";
import type { Deps } from "../http.ts";
import { backupJob } from "./backup.ts";
import { exportJob } from "./exports.ts";
import { importJob } from "./imports.ts";
import { mailJob } from "./mail.ts";
import { maintenanceJob } from "./maintenance.ts";
import { masterDataJob } from "./master-data.ts";

export type Job = {
  name: string;
  pattern: (config: Config) => string;
  run: (deps: Deps) => void | Promise<void>;
};

/** Every scheduled job, by name. */
export const jobs: Job[] = [exportJob, importJob, masterDataJob, mailJob, maintenanceJob, backupJob];

export type Scheduler = { stop(): Promise<void> };

/** Starts every job on its cron pattern; a run never overlaps the previous one. */
export function startScheduler(deps: Deps): Scheduler {
  const running = new Set<Promise<void>>();
  const crons = jobs.map(
    (job) =>
      new Cron(job.pattern(deps.config), { name: job.name, protect: true }, async () => {
        const run = (async () => {
          try {
            await job.run(deps);
          } catch (error) {
            deps.log.error("job failed", { job: job.name, error: error instanceof Error ? error.stack : String(error) });
          }
        })();
        running.add(run);
        await run;
        running.delete(run);
      }),
  );
  return {
    /** Stops triggering and waits for the runs in progress to finish. */
    async stop() {
      for (const cron of crons) cron.stop();
      await Promise.all(running);
    },
  };
}
