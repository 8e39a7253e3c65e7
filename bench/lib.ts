// Shared pieces of the benchmarks: signing in over HTTP, timing requests, printing tables.

/** Signs in through the real form; returns the Cookie header of the session. */
export async function signIn(base: string, email: string, password = "demo1234"): Promise<string> {
  const page = await fetch(`${base}/login`);
  const loginCookie = page.headers.getSetCookie()[0]!.split(";")[0]!;
  const token = (await page.text()).match(/name="_csrf" value="([^"]+)"/)![1]!;
  const response = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { Cookie: loginCookie, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: token, email, password }),
  });
  const session = response.headers.getSetCookie().find((c) => c.includes("placement_session="));
  if (!session) throw new Error(`sign-in as ${email} failed: ${response.status}`);
  return session.split(";")[0]!;
}

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
