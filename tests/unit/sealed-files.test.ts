import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, unzipSync, zipSync } from "fflate";
import { keyOf, keyRingOf, newKeyText, RECORD_BYTES, sealedKeyId, sealer, unsealedStream, unsealWhole, writeSealed, SealError } from "../../src/services/sealed-files.ts";

const dir = mkdtempSync(join(tmpdir(), "placement-sealed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = keyOf(newKeyText());
const other = keyOf(newKeyText());
const bytes = (n: number) => new Uint8Array(Array.from({ length: n }, (_, i) => (i * 31 + 7) % 251));
let count = 0;
const sealedFile = (plain: Uint8Array, k = key) => {
  const path = join(dir, `f${count++}`);
  writeSealed(path, k, plain);
  return path;
};

describe("sealed files", () => {
  test.each([0, 1, 1000, RECORD_BYTES - 1, RECORD_BYTES, RECORD_BYTES + 1, 3 * RECORD_BYTES, 3 * RECORD_BYTES + 17])("%i bytes come back as they were", async (n) => {
    const plain = bytes(n);
    const path = sealedFile(plain);
    expect(sealedKeyId(path)).toBe(key.id);
    expect(await unsealWhole(path, [key])).toEqual(plain);
  });

  test("written in pieces of any size, read the same", async () => {
    const plain = bytes(5 * RECORD_BYTES + 123);
    const parts: Uint8Array[] = [];
    const w = sealer(key, (c) => void parts.push(c));
    for (let at = 0; at < plain.length; at += 7777) w.write(plain.subarray(at, at + 7777));
    w.end();
    const path = join(dir, "pieces");
    writeFileSync(path, Buffer.concat(parts));
    expect(await unsealWhole(path, [other, key])).toEqual(plain);
  });

  test("the file on disk is not the plaintext, nor readable as a spreadsheet", () => {
    const plain = new TextEncoder().encode("Codice fiscale;Cognome\nRSSMRA80A01H501U;ROSSI\n".repeat(50));
    const raw = readFileSync(sealedFile(plain));
    expect(raw.includes(Buffer.from("RSSMRA80A01H501U"))).toBe(false);
    expect(raw.subarray(0, 8).toString()).toBe("PLCSEAL1");
    // A workbook sealed is no longer a zip: no spreadsheet program opens it.
    const workbook = zipSync({ "xl/worksheets/sheet1.xml": strToU8("<worksheet><c><v>RSSMRA80A01H501U</v></c></worksheet>") });
    const sealed = readFileSync(sealedFile(workbook));
    expect(() => unzipSync(sealed)).toThrow();
    expect(sealed.subarray(0, 2).toString()).not.toBe("PK");
  });

  const broken: [string, (raw: Buffer) => Buffer][] = [
    ["cut at a record's end", (raw) => raw.subarray(0, 41 + 3 * (RECORD_BYTES + 16))],
    ["cut short by one byte", (raw) => raw.subarray(0, raw.length - 1)],
    ["with one byte changed", (raw) => Buffer.from(raw.map((b, i) => (i === 200 ? b ^ 1 : b)))],
    ["with two records swapped", (raw) => {
      const head = 8 + 1 + 16 + 16;
      const r = RECORD_BYTES + 16;
      return Buffer.concat([raw.subarray(0, head), raw.subarray(head + r, head + 2 * r), raw.subarray(head, head + r), raw.subarray(head + 2 * r)]);
    }],
    ["with bytes added at the end", (raw) => Buffer.concat([raw, Buffer.alloc(40)])],
    ["with its key id changed", (raw) => Buffer.from(raw.map((b, i) => (i === 9 ? (b === 0x61 ? 0x62 : 0x61) : b)))],
  ];
  test.each(broken)("a file %s is refused, and nothing of the altered record comes out", async (_name, alter) => {
    const plain = bytes(3 * RECORD_BYTES + 500);
    const path = sealedFile(plain);
    writeFileSync(path, alter(readFileSync(path)));
    const out: Uint8Array[] = [];
    const reader = unsealedStream(path, [key]).getReader();
    let failure: unknown = null;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        out.push(value);
      }
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(SealError);
    // What came out before the failure is a prefix of the plaintext, never altered bytes.
    const got = Buffer.concat(out);
    expect(got.length).toBeLessThan(plain.length);
    expect(Buffer.from(plain.subarray(0, got.length)).equals(got)).toBe(true);
  });

  test("another key is refused with a sentence that names the key the file needs", async () => {
    const path = sealedFile(bytes(10));
    const failure = await unsealWhole(path, [other]).then(() => null, (error: Error) => error);
    expect(failure?.message).toContain(`sealed with key ${key.id}`);
  });

  test("a header's key id that is not one of ours is not repeated in the message (it would reach the log)", async () => {
    const path = join(dir, "hostile-id");
    const id = "\nFAKE LOG LINE";
    writeFileSync(path, Buffer.concat([Buffer.from("PLCSEAL1"), Buffer.from([id.length]), Buffer.from(id), Buffer.alloc(16), Buffer.alloc(16)]));
    const failure = await unsealWhole(path, [key]).then(() => null, (error: Error) => error);
    expect(failure).toBeInstanceOf(SealError);
    expect(failure!.message).not.toContain("FAKE");
    expect(failure!.message).toContain("not a key id of this program");
  });

  test("keys are 32 bytes of base64, newest first", () => {
    expect(() => keyOf("c2hvcnQ=")).toThrow("32 bytes");
    const a = newKeyText();
    const b = newKeyText();
    expect(keyRingOf(`${a}\n${b}\n`).map((k) => k.id)).toEqual([keyOf(a).id, keyOf(b).id]);
    expect(keyRingOf(`${a}, ${b}`)).toHaveLength(2);
  });
});
