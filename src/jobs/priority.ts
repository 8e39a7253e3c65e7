import { setPriority } from "node:os";

/**
 * Background work yields the processor to the pages: on Linux this lowers the calling
 * thread alone (a worker, or the reading child's main thread), so the server's own thread
 * keeps answering within its p99 while files are read and written (bench/burst.ts).
 */
export function lowerPriority(): void {
  try {
    setPriority(BACKGROUND_NICE);
  } catch {
    // A system that refuses it runs the job at normal priority.
  }
}

const BACKGROUND_NICE = 10;
