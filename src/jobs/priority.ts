import { readFileSync } from "node:fs";
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

/**
 * This process's peak resident memory in MB. On Linux from VmHWM, not getrusage's maxRSS:
 * a spawned process inherits its parent's maxRSS, so a small child of a large server
 * reported the server's size as its own.
 */
export function peakResidentMb(): number {
  try {
    const kb = readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s+(\d+)/)?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // No /proc: the portable figure, which may count the parent's.
  }
  return process.resourceUsage().maxRSS / 1024;
}
