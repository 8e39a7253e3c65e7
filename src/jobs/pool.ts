import type { Deps } from "../deps.ts";
import { writeYielding } from "../db/client.ts";
import { claimNext, runClaimed, type QueueKind } from "./queue.ts";

/*
 * The runners of queued jobs: up to `size` jobs at a time, taken from every queue in turn,
 * oldest first, each queue's rule of who waits for whom kept by claimNext (an agency's jobs
 * one at a time, in order). A job starts as soon as it is queued (`wake`) or, for retries
 * and after a restart, at the scheduler's next tick.
 */
export class JobPool {
  private running = new Set<Promise<void>>();
  private next = 0;
  private stopping = false;
  // The claims under way, and whether a wake came meanwhile: one at a time, none lost.
  private filling: Promise<void> | null = null;
  private again = false;

  constructor(
    private deps: Deps,
    private queues: readonly QueueKind[],
    private size: number,
  ) {}

  /** Starts due jobs while there is a free runner. */
  wake(): void {
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async fill(): Promise<void> {
    try {
      while (!this.stopping && this.running.size < this.size) {
        const started = await this.startOne();
        if (!started) return;
      }
    } catch (error) {
      // The next tick tries again: a busy or full database must not stop the scheduler.
      this.deps.log.error("jobs could not be started", { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Claims the oldest due job of the next queue that has one, and runs it. */
  private async startOne(): Promise<boolean> {
    for (let tried = 0; tried < this.queues.length; tried++) {
      const kind = this.queues[this.next]!;
      this.next = (this.next + 1) % this.queues.length;
      // Claimed without holding the pages while a running job writes.
      const claim = await writeYielding(this.deps.db, () => claimNext(this.deps.db, kind.table, this.deps.clock.now(), kind.serial));
      if (!claim) continue;
      const run: Promise<void> = runClaimed(this.deps, kind, claim)
        .catch((error) => this.deps.log.error("job runner failed", { table: kind.table, job: claim.id, error: String(error) }))
        .finally(() => {
          this.running.delete(run);
          this.wake();
        });
      this.running.add(run);
      return true;
    }
    return false;
  }

  /** Jobs running now. */
  get busy(): number {
    return this.running.size;
  }

  /** Starts nothing more and waits for the jobs running to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    // A claim under way still starts its job, which is then waited for below.
    await this.filling;
    while (this.running.size) await Promise.all(this.running);
  }
}
