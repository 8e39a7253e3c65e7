import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BATCH_CHARS } from "../../src/jobs/child-protocol.ts";
import { inTurn, messageOf } from "../../src/jobs/parse-runner.ts";
import { TRAINEE_COLUMNS } from "../../src/sheets/columns.ts";
import { csvLine } from "../../src/sheets/trainee-file.ts";

setDefaultTimeout(60_000);

describe("the reading child's output is taken only as the messages this program writes", () => {
  test.each([
    ['{"t":"rows","rows":[[2,["a",1,null,{"formula":true}]],[3,[]]]}', "rows"],
    ['{"t":"end","rows":2,"peakMb":80,"ms":12}', "end"],
    ['{"t":"error","message":"Il file è danneggiato."}', "error"],
  ])("%s is a message", (line, kind) => {
    expect(messageOf(line)?.t).toBe(kind as never);
  });

  test.each([
    ['{"t":"row","line":2,"cells":["a"]}', "a single row: rows travel in batches"],
    ['{"t":"rows","rows":[[2,["a"]],"b"]}', "a batch with something that is not a row"],
    ['{"t":"rows","rows":[[2.5,["a"]]]}', "a row number that is not an integer"],
    ['{"t":"rows","rows":[[2,["a"],3]]}', "a row of three parts"],
    ['{"t":"rows","rows":[[2,[{"formula":false}]]]}', "a cell that is an object other than a formula"],
    [`{"t":"rows","rows":[[2,${JSON.stringify(Array(201).fill("x"))}]]}`, "a row of more than 200 cells"],
    ['{"t":"rows","rows":{"0":[2,["a"]]}}', "rows that are not a list"],
    ['{"t":"end","rows":2,"peakMb":80}', "an end without the child's time"],
    ['{"t":"end","rows":2,"peakMb":-1,"ms":3}', "a negative peak"],
    ['{"t":"end","rows":2,"peakMb":"80","ms":3}', "a peak that is not a number"],
    ["[1,2]", "a list"],
    ["nonsense", "not JSON at all"],
  ])("%s is refused (%s)", (line) => {
    expect(messageOf(line)).toBeNull();
  });
});

describe("the child's messages are taken only in their turn", () => {
  const header = messageOf('{"t":"header","format":"csv","sheet":"Allievi","header":["a"],"metadata":null,"monthFirstLine":null}')!;
  const rows = messageOf('{"t":"rows","rows":[[2,["a"]]]}')!;
  const end = messageOf('{"t":"end","rows":1,"peakMb":80,"ms":12}')!;
  const error = messageOf('{"t":"error","message":"Il file è danneggiato."}')!;
  test.each([
    ["a first header", header, false, true],
    ["a second header, which would start the judging again halfway", header, true, false],
    ["rows before the header", rows, false, false],
    ["rows after it", rows, true, true],
    ["an end before the header", end, false, false],
    ["an end after it", end, true, true],
    ["an error before the header", error, false, true],
    ["an error after it", error, true, true],
  ] as const)("%s", (_, message, headerSeen, expected) => {
    expect(inTurn(message, headerSeen)).toBe(expected);
  });
});

test("the child sends rows in batches, no line longer than a batch or one row", async () => {
  const dir = mkdtempSync(join(tmpdir(), "placement-child-"));
  try {
    const path = join(dir, "righe.csv");
    const lines = [csvLine(TRAINEE_COLUMNS.map((c) => c.header))];
    for (let i = 0; i < 5_000; i++) lines.push(csvLine(TRAINEE_COLUMNS.map((c) => `${c.key}-${i}`)));
    // One row longer than a batch (nine cells of 30,000 characters) travels alone.
    lines.push(csvLine(TRAINEE_COLUMNS.map((c, i) => (i < 9 ? "x".repeat(30_000) : c.key))));
    await Bun.write(path, `\ufeff${lines.join("")}`);
    const child = Bun.spawn(["bun", join(import.meta.dir, "../../src/main.ts"), "internal", "parse-upload", "--kind", "trainees"], { stdin: Bun.file(path), stdout: "pipe" });
    const output = (await new Response(child.stdout).text()).trimEnd().split("\n");
    expect(await child.exited).toBe(0);
    const messages = output.map((line) => messageOf(line)!);
    expect(messages.map((m) => m.t)).toEqual(["header", ...Array(output.length - 2).fill("rows"), "end"]);
    const rows = messages.flatMap((m) => (m.t === "rows" ? m.rows : []));
    expect(rows.length).toBe(5_001);
    expect(rows.map(([line]) => line)).toEqual(Array.from({ length: 5_001 }, (_, i) => i + 2));
    expect(output.length).toBeLessThan(50);
    const longest = Math.max(...output.slice(0, -2).map((line) => line.length));
    expect(longest).toBeLessThanOrEqual(BATCH_CHARS + 100);
    expect(output.at(-2)!.length).toBeGreaterThan(BATCH_CHARS);
    expect((messages.at(-2) as { rows: unknown[] }).rows.length).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
