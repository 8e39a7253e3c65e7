// The clerk of the page-latency measurements (bench/lib.ts latencyRun), in a process of its
// own: the benchmark's own work (sending eighty uploads, polling for their outcomes) must not
// delay the probe's requests and count as the server's. Not a test: it prints figures.
import { timedRequests } from "./lib.ts";

const [base, path, pauseMs, count, minCount] = Bun.argv.slice(2);
const cookie = process.env.PROBE_COOKIE ?? "";
let stopped = false;
process.on("message", () => (stopped = true));
const durations = await timedRequests(base!, path!, cookie, Number(pauseMs), () =>
  Number(count) > 0 ? true : stopped,
  Number(count) > 0 ? Number(count) : Number(minCount),
);
process.send!(durations);
process.disconnect?.();
