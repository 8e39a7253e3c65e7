import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import { WorkerThreads } from "./jobs/worker-runner.ts";
import type { Logger } from "./log.ts";
import { mailTransportFor, type MailTransport } from "./mail/transport.ts";
import { systemClock, type Clock } from "./services/clock.ts";
import { Metrics } from "./services/metrics.ts";
import { RateLimiter } from "./services/rate-limit.ts";
import type { KeyRing } from "./services/sealed-files.ts";

/** Tells the runners of queued jobs that one was queued; nothing until the scheduler starts. */
export type JobsHandle = { wake(): void };

/** What the program is made of, handed to routes and jobs alike. */
export type Deps = {
  db: Db;
  config: Config;
  clock: Clock;
  log: Logger;
  mail: MailTransport;
  metrics: Metrics;
  jobs: JobsHandle;
  workers: WorkerThreads;
  /** The data keys, newest first: files are sealed with the first. */
  keys: KeyRing;
  /** Calls per API token. */
  apiLimiter: RateLimiter;
};

/** The program's dependencies, with mail as configured and fresh metrics. */
export function createDeps(parts: { db: Db; config: Config; clock?: Clock; log: Logger; keys: KeyRing }): Deps {
  return {
    clock: systemClock,
    ...parts,
    mail: mailTransportFor(parts.config),
    metrics: new Metrics(),
    jobs: { wake() {} },
    workers: new WorkerThreads(),
    apiLimiter: new RateLimiter(parts.config.API_RATE_PER_MINUTE),
  };
}
