/*
 * One process that parses many damaged copies of real exports, as the upload child would:
 * `bun tests/helpers/fuzz-child.ts DIR SEED COUNT`, with DIR holding export.xlsx,
 * resaved.xlsx (shared strings) and export.csv. It prints one JSON line per case and a last
 * line with its peak memory; a case that never ends leaves the parent waiting, which is how
 * a hang shows.
 */
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { join } from "node:path";
import { UploadError } from "../../src/sheets/upload-error.ts";
import { firstMonthFirstLine, parseUpload } from "../../src/sheets/upload-parse.ts";
import { peakResidentMb } from "../../src/jobs/priority.ts";

const [dir, seedText, countText] = Bun.argv.slice(2) as [string, string, string];
let seed = Number(seedText) >>> 0 || 1;
// A small seeded generator (mulberry32): the same seed gives the same cases.
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(random() * n);

const bases = {
  xlsx: new Uint8Array(await Bun.file(join(dir, "export.xlsx")).arrayBuffer()),
  resaved: new Uint8Array(await Bun.file(join(dir, "resaved.xlsx")).arrayBuffer()),
  csv: new Uint8Array(await Bun.file(join(dir, "export.csv")).arrayBuffer()),
};
const FRAGMENTS = ["<c r=\"B2\">", "<c", "</c>", "<row r=\"3\">", "<row", "</row>", "<v>", "</v>", "<is><t>", "&#", "&amp", '"', ">", "<", "<f>", "t=\"s\"", "<si>", "</si>"];

function rezip(bytes: Uint8Array, edit: (xml: string) => string, entry?: string): Uint8Array {
  const entries = unzipSync(bytes);
  const names = Object.keys(entries).filter((n) => n.endsWith(".xml"));
  const name = entry && entries[entry] ? entry : names[int(names.length)]!;
  entries[name] = strToU8(edit(strFromU8(entries[name]!)));
  return zipSync(entries);
}

function mutate(kind: number): { name: string; bytes: Uint8Array } {
  const zip = random() < 0.5 ? bases.xlsx : bases.resaved;
  switch (kind) {
    case 0:
      return { name: "zip truncated", bytes: zip.slice(0, int(zip.length)) };
    case 1: {
      const copy = zip.slice();
      for (let k = 0; k < 1 + int(8); k++) copy[int(copy.length)] = int(256);
      return { name: "zip bytes changed", bytes: copy };
    }
    case 2:
      return {
        name: "sheet xml slice removed",
        bytes: rezip(zip, (xml) => {
          const at = int(xml.length);
          return xml.slice(0, at) + xml.slice(at + 1 + int(60));
        }, "xl/worksheets/sheet1.xml"),
      };
    case 3:
      return { name: "sheet xml truncated", bytes: rezip(zip, (xml) => xml.slice(0, int(xml.length)), "xl/worksheets/sheet1.xml") };
    case 4:
      return {
        name: "fragments inserted",
        bytes: rezip(zip, (xml) => {
          let out = xml;
          for (let k = 0; k < 1 + int(5); k++) {
            const at = int(out.length);
            out = out.slice(0, at) + FRAGMENTS[int(FRAGMENTS.length)] + out.slice(at);
          }
          return out;
        }),
      };
    case 5:
      return { name: "any part truncated", bytes: rezip(zip, (xml) => xml.slice(0, int(xml.length))) };
    case 6:
      // From some point on, no cell is closed: `<c …>` with no `</c>` after it.
      return {
        name: "cells left unclosed",
        bytes: rezip(zip, (xml) => {
          const at = int(xml.length);
          return xml.slice(0, at) + xml.slice(at).replaceAll("</c>", "");
        }, "xl/worksheets/sheet1.xml"),
      };
    default: {
      const text = new TextDecoder().decode(bases.csv);
      let out = text;
      for (let k = 0; k < 1 + int(6); k++) {
        const at = int(out.length);
        out = random() < 0.5 ? out.slice(0, at) + ['"', ";", "\r\n", "\n", '""', "\r"][int(6)] + out.slice(at) : out.slice(0, at) + out.slice(at + int(40));
      }
      if (random() < 0.3) out = out.slice(0, int(out.length));
      return { name: "csv changed", bytes: new TextEncoder().encode(out) };
    }
  }
}

const count = Number(countText);
for (let i = 0; i < count; i++) {
  const { name, bytes } = mutate(int(8));
  const started = performance.now();
  let result: string;
  try {
    // As the child does: the header check at upload, then every row in the job.
    const header = await parseUpload(bytes, { headerOnly: true });
    await firstMonthFirstLine(header);
    let rows = 0;
    for await (const _ of (await parseUpload(bytes)).rows) rows++;
    result = `accepted ${rows}`;
  } catch (error) {
    result = error instanceof UploadError ? "refused" : `failed ${(error as Error).name}`;
  }
  console.log(JSON.stringify({ i, name, result, ms: Math.round(performance.now() - started) }));
}
console.log(JSON.stringify({ peakMb: Math.round(peakResidentMb()) }));
