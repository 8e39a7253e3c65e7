// Writes an upload's outcome file (started by upload-worker.ts) while that thread applies
// the rows: one after the other on one thread, the two were half of a large upload's time
// after reading (bench:import). It gets the batches of rows as the reading child wrote them
// (checked when they came, then packed), so that no thread keeps every row's cells.
import type { Key } from "../services/sealed-files.ts";
import type { OutcomeRow } from "../sheets/outcome-file.ts";
import { writeOutcome } from "./file-jobs.ts";
import { rowsOfBatch } from "./parse-runner.ts";
import { serveWorker } from "./worker-runner.ts";

export type OutcomeWorkerInput = {
  path: string;
  key: Key;
  fileFormat: string;
  layout: { sheet: string; header: string[]; width: number; dateColumns: number[]; metadata: Record<string, string> | null; versionColumn: number | null };
  /** The batches of rows, in order, as packBatch kept them. */
  batches: Uint8Array[];
  /** Each row's "Esito", "Messaggio" and new "Versione", in the same order. */
  outcomes: string[];
  messages: (string | null)[];
  versions: (string | null)[];
};
export type OutcomeWorkerResult = { ms: number };

type Row = OutcomeRow & { version: string | null };

// As in the reading child: the garbage of a few thousand rows is strings the collector does not count.
const COLLECT_EVERY = 4000;

serveWorker<OutcomeWorkerInput, OutcomeWorkerResult>(async (input, _progress, signal) => {
  const started = performance.now();
  const { layout } = input;
  function* rows(): Generator<Row> {
    const texts = new Map<string, string>();
    let at = 0;
    let read = 0;
    for (const batch of input.batches) {
      signal.throwIfAborted();
      const rows = rowsOfBatch(batch, texts);
      for (const { cells } of rows) {
        if (at >= input.outcomes.length) throw new Error("the outcome file has more rows than outcomes");
        yield { cells, outcome: input.outcomes[at]!, message: input.messages[at] ?? null, version: input.versions[at] ?? null };
        at++;
      }
      read += rows.length;
      if (read >= COLLECT_EVERY) {
        read = 0;
        Bun.gc(false);
      }
    }
    if (at !== input.outcomes.length) throw new Error("the outcome file has fewer rows than outcomes");
  }
  const replaced = layout.versionColumn === null ? undefined : { column: layout.versionColumn, value: (row: Row) => row.version };
  await writeOutcome(input.path, input.key, input, { ...layout, dateColumns: new Set(layout.dateColumns), replaced }, rows());
  return { ms: Math.round(performance.now() - started) };
});
