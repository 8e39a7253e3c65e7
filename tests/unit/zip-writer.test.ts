import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { ZipWriter } from "../../src/sheets/zip-writer.ts";

function zipOf(write: (zip: ZipWriter) => void): Uint8Array {
  const chunks: Uint8Array[] = [];
  const zip = new ZipWriter((chunk) => chunks.push(chunk));
  write(zip);
  zip.finish();
  return Buffer.concat(chunks);
}

// Text that compresses, with repeats across chunk boundaries, and bytes that do not.
const text = new TextEncoder().encode(Array.from({ length: 40_000 }, (_, i) => `<row r="${i}"><c><v>${i * 7}</v></c></row>`).join(""));
const noise = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24);

describe("the zip writer", () => {
  test("an entry written in many chunks reads back whole, in another implementation and in Info-ZIP", () => {
    const bytes = zipOf((zip) => {
      const sheet = zip.entry("xl/worksheets/sheet1.xml");
      for (let at = 0; at < text.length; at += 100_000) sheet.write(text.subarray(at, at + 100_000));
      sheet.end();
      zip.file("noise.bin", noise);
      zip.file("vuoto.txt", new Uint8Array(0));
      zip.file("città.txt", new TextEncoder().encode("è"));
    });
    const entries = unzipSync(bytes);
    expect(Object.keys(entries)).toEqual(["xl/worksheets/sheet1.xml", "noise.bin", "vuoto.txt", "città.txt"]);
    expect(Buffer.from(entries["xl/worksheets/sheet1.xml"]!).equals(Buffer.from(text))).toBe(true);
    expect(Buffer.from(entries["noise.bin"]!).equals(Buffer.from(noise))).toBe(true);
    expect(entries["vuoto.txt"]!.length).toBe(0);
    expect(new TextDecoder().decode(entries["città.txt"])).toBe("è");
    expect(bytes.length).toBeLessThan(text.length / 4 + noise.length + 2_000);

    // unzip -t checks every entry's CRC and sizes against the central directory.
    const dir = mkdtempSync(join(tmpdir(), "placement-zip-"));
    try {
      writeFileSync(join(dir, "test.zip"), bytes);
      const check = Bun.spawnSync(["unzip", "-t", join(dir, "test.zip")]);
      expect(check.stdout.toString()).toContain("No errors detected");
      expect(check.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("misuse fails at once instead of writing a broken file", () => {
    const zip = new ZipWriter(() => {});
    const entry = zip.entry("a.xml");
    expect(() => zip.entry("b.xml")).toThrow("still open");
    expect(() => zip.finish()).toThrow("still open");
    entry.end();
    expect(() => entry.write(text)).toThrow("has ended");
    expect(() => entry.end()).toThrow("has ended");
  });

  test("no more entries than a zip without zip64 holds", () => {
    const zip = new ZipWriter(() => {});
    const one = new Uint8Array([1]);
    for (let i = 0; i < 0xffff; i++) zip.file(`f${i}`, one);
    expect(() => zip.file("in-troppo", one)).toThrow("too many zip entries");
    zip.finish();
  });
});
