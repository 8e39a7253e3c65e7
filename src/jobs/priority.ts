import { dlopen, FFIType, ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * Background work yields the processor to the pages: on Linux this lowers the calling
 * thread alone (a worker, or the reading child's main thread), so the server's own thread
 * keeps answering within its p99 while files are read and written (bench/burst.ts). A thread
 * started by a lowered one, and a process it spawns, are lowered as well.
 *
 * Every such thread gets nice 10. One that holds no lock of the database, and that no
 * holder of one waits for ("idle": a file's check, an export, the reading child), is also
 * put in the SCHED_IDLE class, which gives way at once to any other thread: with the nice
 * value alone, Linux's scheduler lets the running thread finish its slice of a few
 * milliseconds before the waking server thread runs, once per wake-up of a request. A
 * thread that writes the database, or that its writer waits for (an upload's judging and
 * outcome file, its apply, a master-data load), stays out of that class: on a host whose
 * processors other programs keep busy it would barely run, holding the write lock that the
 * pages' own writes wait for.
 */
export function lowerPriority(level: "background" | "idle"): void {
  // The class first: a thread seen at the lowered nice value is lowered whole.
  if (level === "idle" && process.platform === "linux") idleClass();
  try {
    setPriority(BACKGROUND_NICE);
  } catch {
    // A system that refuses it runs the job at normal priority.
  }
}

const BACKGROUND_NICE = 10;
const SCHED_IDLE = 5;

function idleClass(): void {
  try {
    const libc = dlopen("libc.so.6", { sched_setscheduler: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
    try {
      // Thread 0 is the calling thread; SCHED_IDLE takes a priority of 0.
      const priority = new Int32Array(1);
      libc.symbols.sched_setscheduler(0, SCHED_IDLE, ptr(priority));
    } finally {
      libc.close();
    }
  } catch {
    // No libc to call (another C library): the nice value stands.
  }
}

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
