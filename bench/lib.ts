// Shared pieces of the benchmarks: timing requests, printing tables.

/**
 * Times sequential GETs of one page: `count` of them, or as many as fit until `until`
 * settles (at least `minCount`). Returns the durations in milliseconds.
 */
export async function latencyRun(
  base: string,
  path: string,
  cookie: string,
  options: { count: number } | { until: Promise<unknown>; minCount: number },
): Promise<number[]> {
  const durations: number[] = [];
  let settled = false;
  if ("until" in options) void options.until.finally(() => (settled = true));
  const more = () => ("count" in options ? durations.length < options.count : !settled || durations.length < options.minCount);
  while (more()) {
    const started = performance.now();
    const response = await fetch(`${base}${path}`, { headers: { Cookie: cookie } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
    durations.push(performance.now() - started);
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
