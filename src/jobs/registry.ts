import { Cron } from "croner";
import type { Config } from "../config.ts";
import type { Deps } from "../deps.ts";
import { backupJob } from "./backup.ts";
import { exportQueue } from "./exports.ts";
import { uploadQueue } from "./uploads.ts";
import { mailJob } from "./mail.ts";
import { maintenanceJob } from "./maintenance.ts";
import { masterDataQueue } from "./master-data.ts";
import { reminderJob } from "./reminders.ts";
import { JobPool } from "./pool.ts";
import type { QueueKind } from "./queue.ts";

export type Job = {
  name: string;
  pattern: (config: Config) => string;
  run: (deps: Deps) => void | Promise<void>;
};

/** Every queue of jobs, taken in turn by the pool of runners. */
export const queues: QueueKind[] = [uploadQueue, exportQueue, masterDataQueue];

/** Every job on a schedule, by name. */
export const jobs: Job[] = [mailJob, maintenanceJob, backupJob, reminderJob];

export type Scheduler = { stop(): Promise<void> };

/**
 * Starts the pool of job runners, woken whenever a job is queued and at every QUEUE_CRON
 * tick (for retries and jobs left by a restart), and every scheduled job on its pattern; a
 * run never overlaps the previous one.
 */
export function startScheduler(deps: Deps): Scheduler {
  const pool = new JobPool(deps, queues, deps.config.JOB_RUNNERS);
  deps.jobs.wake = () => pool.wake();
  const running = new Set<Promise<void>>();
  const tick = { name: "queues", pattern: (config: Config) => config.QUEUE_CRON, run: () => pool.wake() };
  const crons = [tick, ...jobs].map(
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
  pool.wake();
  return {
    /** Stops triggering and waits for the runs in progress to finish. */
    async stop() {
      for (const cron of crons) cron.stop();
      deps.jobs.wake = () => {};
      await Promise.all([pool.stop(), ...running]);
    },
  };
}
