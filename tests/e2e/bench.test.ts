import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";

// The benchmarks measure on large data (`bun run bench`); here each runs on a little, so
// that a change which breaks one is caught by the tests rather than at the next measurement.
setDefaultTimeout(180_000);

const ROOT = join(import.meta.dir, "../..");

describe("the benchmarks still run", () => {
  test.each([
    ["export", { BENCH_ENROLLMENTS: "2000", BENCH_FUND_ENROLLMENTS: "4000" }, /^bench:consolidated rows=4000 per_row_ratio=[\d.]+ memory_flat_ratio=[\d.]+ peak_mb=\d+\n(?:.*\n)*?bench:export exceljs_time_ratio=[\d.]+ exceljs_memory_ratio=[\d.]+ exceljs_size_ratio=[\d.]+ floor_ratio=[\d.]+ p99_ratio=[\d.]+$/m],
    ["import", { BENCH_ENROLLMENTS: "2000" }, /^bench:import exceljs_time_ratio=[\d.]+ sheetjs_time_ratio=[\d.]+ memory_ratio=[\d.]+ floor_ratio=[\d.]+ p99_ratio=[\d.]+$/m],
    ["burst", { BENCH_AGENCIES: "3", BENCH_ROWS: "300" }, /^bench:burst parallel_ratio=[\d.]+ p99_ratio=[\d.]+ start_ratio=[\d.]+ errors=0$/m],
    ["dashboard", { BENCH_AGENCIES: "4", BENCH_ENROLLMENTS: "4000" }, /^bench:dashboard agency_ratio=[\d.]+ fund_ratio=[\d.]+$/m],
  ] as const)("bench:%s ends with its line", async (name, env, line) => {
    const run = Bun.spawn(["bun", join(ROOT, "bench", `${name}.ts`)], { cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    expect(err.includes("error:") ? err : "").toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(line);
  });
});
