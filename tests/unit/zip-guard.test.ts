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

describe("an entry read as a stream", () => {
  const all = async (archive: ZipArchive, name: string) => {
    const pieces: Uint8Array[] = [];
    for await (const piece of archive.stream(name)) pieces.push(piece);
    return Buffer.concat(pieces);
  };

  test("comes out whole and exact, in pieces, whatever size it declares; stored entries too", async () => {
    for (const size of [sheet.length, 0, 0xffffffff]) {
      expect((await all(new ZipArchive(declaring(sheet, size)), "xl/worksheets/sheet1.xml")).equals(Buffer.from(sheet))).toBe(true);
    }
    const stored = zipSync({ "a.xml": sheet }, { level: 0 });
    expect((await all(new ZipArchive(stored), "a.xml")).equals(Buffer.from(sheet))).toBe(true);
    expect(await all(new ZipArchive(stored), "none.xml")).toHaveLength(0);
  });

  test("a bomb is stopped at the cap, having given out no more than the cap", async () => {
    const bomb = declaring(new Uint8Array(20 * 1024 * 1024), 1000);
    let given = 0;
    const reading = (async () => {
      for await (const piece of new ZipArchive(bomb).stream("xl/worksheets/sheet1.xml")) given += piece.length;
    })();
    await expect(reading).rejects.toThrow("si espande in modo anomalo");
    expect(given).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  test("damaged compressed data is refused as a damaged file", async () => {
    const name = "xl/worksheets/sheet1.xml";
    const zip = zipSync({ [name]: sheet }, { level: 6 });
    // The compressed data starts after the 30 bytes of the local header and the name: a first
    // block of a type that does not exist.
    zip.fill(0xff, 30 + name.length, 30 + name.length + 100);
    await expect(all(new ZipArchive(zip), name)).rejects.toThrow("danneggiato");
    expect(() => new ZipArchive(zip).read(name)).toThrow("danneggiato");
  });

  test("an entry that inflates short without an error, or whose bytes are not those of its CRC, is refused as damaged, whole or as a stream", async () => {
    const name = "xl/worksheets/sheet1.xml";
    // Overwritten compressed data that zlib happens to read as a short, complete stream.
    const short = zipSync({ [name]: sheet }, { level: 6 });
    short.fill(0xff, 200, 4000);
    // A central directory whose CRC is not the entry's.
    const wrongCrc = zipSync({ [name]: sheet }, { level: 6 });
    const view = new DataView(wrongCrc.buffer, wrongCrc.byteOffset, wrongCrc.byteLength);
    for (let i = wrongCrc.length - 22; i >= 0; i--) {
      if (view.getUint32(i, true) !== 0x06054b50) continue;
      const central = view.getUint32(i + 16, true);
      view.setUint32(central + 16, view.getUint32(central + 16, true) ^ 1, true);
      break;
    }
    for (const zip of [short, wrongCrc]) {
      expect(() => new ZipArchive(zip).read(name)).toThrow("danneggiato");
      await expect(all(new ZipArchive(zip), name)).rejects.toThrow("danneggiato");
    }
  });
});
