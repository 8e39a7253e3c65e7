// Builds the single executable: `bun run build` writes dist/placement (or the path given).
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const outfile = process.argv[2] ?? join(root, "dist/placement");

const result = await Bun.build({
  // Workers are separate entry points, bundled into the same executable.
  entrypoints: [join(root, "src/main.ts"), join(root, "src/sheets/export-worker.ts"), join(root, "src/sheets/import-worker.ts")],
  compile: { outfile },
  sourcemap: "inline",
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile}`);
