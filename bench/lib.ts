// Shared pieces of the benchmarks: the filled file, timing requests, printing tables.
import { join } from "node:path";
import type { Db } from "../src/db/client.ts";
import { traineeFileContext, traineeRows } from "../src/services/exports.ts";
import { writeTraineeFile } from "../src/sheets/trainee-file.ts";

const ALL_TYPES = ["BASE", "PROF", "OTJ", "CONT", "QUAL", "RIQ"];

/** An agency's exported file with a fascia debole and placement filled in for most mixed-class rows. */
export async function writeFilledFile(db: Db, agencyId: number, path: string): Promise<void> {
  const spec = { id: agencyId, agencyId, year: 2019, trainingTypes: ALL_TYPES } as const;
  let i = 0;
  function* filled() {
    for (const row of traineeRows(db.$client, spec)) {
      i++;
      if (!row.homogeneous && i % 4 !== 0) row.fasciaDebole = i % 2 ? "GIOV" : "NO";
      yield row;
    }
  }
  const file = Bun.file(path).writer({ highWaterMark: 1024 * 1024 });
  await writeTraineeFile("xlsx", filled(), traineeFileContext(db, spec as never, new Date()), (chunk) => void file.write(chunk));
  await file.end();
}

/**
 * Times sequential GETs of one page: `count` of them, or as many as fit until `until`
 * settles (at least `minCount`), `pauseMs` apart so that the probe itself does not load the
 * server. The requests are made by a process of their own (bench/probe.ts), as a clerk's
 * browser is not the program that loads the server. Returns the durations in milliseconds.
 */
export async function latencyRun(
  base: string,
  path: string,
  cookie: string,
  options: ({ count: number } | { until: Promise<unknown>; minCount: number }) & { pauseMs?: number },
): Promise<number[]> {
  const count = "count" in options ? options.count : 0;
  const minCount = "minCount" in options ? options.minCount : 0;
  let answer!: (durations: number[]) => void;
  const answered = new Promise<number[]>((resolve) => (answer = resolve));
  // The session's cookie in the environment, not on the command line that every user can list.
  const probe = Bun.spawn(["bun", join(import.meta.dir, "probe.ts"), base, path, String(options.pauseMs ?? 0), String(count), String(minCount)], {
    env: { ...process.env, PROBE_COOKIE: cookie },
    stdout: "inherit",
    stderr: "inherit",
    ipc: (message) => answer(message as number[]),
  });
  if ("until" in options) void options.until.finally(() => probe.send("stop"));
  const result = await Promise.race([answered, probe.exited]);
  if (typeof result === "number") throw new Error(`the latency probe stopped (exit ${result}) before its figures`);
  return result;
}

/** The probe's loop: `pauseMs` apart until `stop()` says so, at least `minCount` of them. */
export async function timedRequests(base: string, path: string, cookie: string, pauseMs: number, stop: () => boolean, minCount: number): Promise<number[]> {
  const durations: number[] = [];
  while (durations.length < minCount || !stop()) {
    const started = performance.now();
    const response = await fetch(`${base}${path}`, { headers: { Cookie: cookie } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
    durations.push(performance.now() - started);
    if (pauseMs) await Bun.sleep(pauseMs);
  }
  return durations;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}
