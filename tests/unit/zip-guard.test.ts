import { describe, expect, test } from "bun:test";
import { zipSync } from "fflate";
import { ZipArchive } from "../../src/sheets/zip-guard.ts";

// Numbers that vary, so that the sheet compresses like a real one (about ten times), not like a bomb.
const sheet = new TextEncoder().encode(Array.from({ length: 200_000 }, (_, i) => `<row><c><v>${(i * 7919) % 100_003}</v></c></row>`).join(""));

/** A zip of one entry whose central directory declares `size` as its inflated size. */
function declaring(content: Uint8Array, size: number): Uint8Array {
  const zip = zipSync({ "xl/worksheets/sheet1.xml": content }, { level: 6 });
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  for (let i = zip.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) !== 0x06054b50) continue;
    view.setUint32(view.getUint32(i + 16, true) + 24, size, true);
    return zip;
  }
  throw new Error("no end of directory");
}

describe("the inflated size a zip declares is a hint, never trusted", () => {
  test.each([
    ["true", sheet.length],
    ["zero", 0],
    ["far too small", 100],
    ["far too large", 0xffffffff],
  ])("declared size %s: the entry inflates whole and exact", (_, size) => {
    const read = new ZipArchive(declaring(sheet, size)).read("xl/worksheets/sheet1.xml")!;
    expect(read.length).toBe(sheet.length);
    expect(Buffer.from(read).equals(Buffer.from(sheet))).toBe(true);
  });

  test("a bomb that declares a small size is still stopped at the cap", () => {
    const bomb = new Uint8Array(20 * 1024 * 1024);
    expect(() => new ZipArchive(declaring(bomb, 1000)).read("xl/worksheets/sheet1.xml")).toThrow("si espande in modo anomalo");
  });
});
