// Builds the single executable: `bun run build` writes dist/placement (or the path given).
import { join } from "node:path";
import { WORKER_NAMES } from "./jobs/worker-runner.ts";

const root = join(import.meta.dir, "..");
const outfile = process.argv[2] ?? join(root, "dist/placement");

const result = await Bun.build({
  // Workers are separate entry points, bundled into the same executable.
  entrypoints: ["main.ts", ...WORKER_NAMES.map((name) => `jobs/${name}.ts`)].map((entry) => join(root, "src", entry)),
  compile: { outfile },
  sourcemap: "inline",
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile}`);
