import { readdirSync, readFileSync } from "node:fs";

/** This process's child processes: their state ("Z" for ended and never waited for) and command line. */
export function childProcesses(): { pid: number; state: string; command: string }[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const [state, parent] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(parent) !== process.pid) return [];
        const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\u0000", " ").trim();
        return [{ pid: Number(pid), state: state!, command }];
      } catch {
        return [];
      }
    });
}

/** Children that ended and were never waited for. */
export const zombies = () => childProcesses().filter((p) => p.state === "Z").map((p) => p.pid);
