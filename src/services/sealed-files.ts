import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "../db/client.ts";

/*
 * Files at rest, sealed with AES-256-GCM in authenticated chunks (SPEC §14):
 *
 *   header  = "PLCSEAL1" | key id length (1 byte) | key id (ASCII) | salt (16 bytes)
 *   records = each 64 KiB of plaintext (the last one shorter, possibly empty), encrypted and
 *             followed by its 16-byte tag
 *
 * Each file has its own key, HKDF-SHA256 of the master key and the salt; record i is
 * encrypted with the nonce i (11 bytes, big-endian) and a last byte 1 for the final record,
 * 0 otherwise, with the header as additional data. So a record moved, dropped, or cut off
 * at the end fails its check, and so does a header changed to claim another key.
 * Reading and writing keep one record in memory, whatever the size of the file.
 */

const MAGIC = Buffer.from("PLCSEAL1");
const SALT_BYTES = 16;
const TAG_BYTES = 16;
export const RECORD_BYTES = 64 * 1024;

export type Key = { id: string; key: Uint8Array };
/** The keys a program may read with, newest first; files are written with the first. */
export type KeyRing = readonly Key[];

export class SealError extends Error {}

/** A key from its text (44 characters of base64, 32 bytes); its id names it in the files it seals. */
export function keyOf(text: string): Key {
  const key = Buffer.from(text, "base64");
  if (key.length !== 32 || key.toString("base64") !== text) throw new SealError("a data key must be 32 bytes written in base64 (44 characters)");
  return { id: createHash("sha256").update(key).digest("hex").slice(0, 16), key: new Uint8Array(key) };
}

/** Keys written one per line or separated by commas or spaces, newest first. */
export function keyRingOf(text: string): KeyRing {
  const keys = text.split(/[\s,]+/).filter(Boolean).map(keyOf);
  if (keys.length === 0) throw new SealError("no data key given");
  return keys;
}

export const newKeyText = () => randomBytes(32).toString("base64");

const header = (key: Key, salt: Uint8Array) => Buffer.concat([MAGIC, Buffer.from([key.id.length]), Buffer.from(key.id, "ascii"), salt]);

const fileKey = (key: Key, salt: Uint8Array) => Buffer.from(hkdfSync("sha256", key.key, salt, "placement sealed file v1", 32));

function nonce(index: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(index, 5, 6);
  n[11] = final ? 1 : 0;
  return n;
}

/**
 * A writer that seals what it is given into `sink`: `write` as often as needed, then `end`
 * once. The plaintext waits in memory at most one record at a time.
 */
export function sealer(key: Key, sink: (chunk: Uint8Array) => void): { write(chunk: Uint8Array): void; end(): void } {
  const salt = randomBytes(SALT_BYTES);
  const head = header(key, salt);
  const secret = fileKey(key, salt);
  sink(head);
  // One record's plaintext, filled in place: a sheet's writer hands over many small pieces.
  const pending = Buffer.allocUnsafe(RECORD_BYTES);
  let filled = 0;
  let index = 0;
  let ended = false;
  const record = (plain: Uint8Array, final: boolean) => {
    const cipher = createCipheriv("aes-256-gcm", secret, nonce(index++, final));
    cipher.setAAD(head);
    sink(Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]));
  };
  return {
    write(chunk) {
      if (ended) throw new SealError("written after the end");
      let at = 0;
      while (at < chunk.length) {
        // A full record is sealed only once more bytes follow: the last record must know it is last.
        if (filled === RECORD_BYTES) {
          record(pending, false);
          filled = 0;
        }
        const n = Math.min(RECORD_BYTES - filled, chunk.length - at);
        pending.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
      }
    },
    end() {
      if (ended) return;
      ended = true;
      record(pending.subarray(0, filled), true);
    },
  };
}

/**
 * A file written in pieces whose every write is checked: a write that fails (a full disk)
 * makes `end` throw, so that a cut-short file is never taken for a whole one.
 */
export function checkedWriter(path: string): { write(chunk: Uint8Array): void; end(): Promise<void> } {
  const out = Bun.file(path).writer({ highWaterMark: 1024 * 1024 });
  let failure: unknown = null;
  const failed = (error: unknown) => void (failure ??= error);
  return {
    write(chunk) {
      if (failure) return;
      try {
        const written = out.write(chunk);
        if (written instanceof Promise) written.catch(failed);
      } catch (error) {
        failed(error);
      }
    },
    async end() {
      try {
        await out.flush();
        await out.end();
      } catch (error) {
        failed(error);
      }
      if (failure) throw failure;
    },
  };
}

/** Seals bytes whole. */
export function seal(key: Key, plain: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const w = sealer(key, (c) => void parts.push(c));
  w.write(plain);
  w.end();
  return Buffer.concat(parts);
}

const UNREADABLE = "the file is not a sealed file of this program, or it was altered or cut short";

/** Reads a sealed header from the first bytes of a file: the key, the file key, the header length. */
function openHeader(first: Uint8Array, keys: KeyRing): { secret: Buffer; head: Buffer } {
  if (first.length < MAGIC.length + 1 || !Buffer.from(first.subarray(0, MAGIC.length)).equals(MAGIC)) throw new SealError(UNREADABLE);
  const idLength = first[MAGIC.length]!;
  const end = MAGIC.length + 1 + idLength + SALT_BYTES;
  if (first.length < end) throw new SealError(UNREADABLE);
  const id = Buffer.from(first.subarray(MAGIC.length + 1, MAGIC.length + 1 + idLength)).toString("ascii");
  const key = keys.find((k) => k.id === id);
  if (!key) throw new SealError(`the file is sealed with key ${/^[0-9a-f]{16}$/.test(id) ? id : "(not a key id of this program)"}, which is not among the data keys given`);
  return { secret: fileKey(key, first.subarray(end - SALT_BYTES, end)), head: Buffer.from(first.subarray(0, end)) };
}

/** The id of the key a sealed file was written with, or null when it is not a sealed file. */
export function sealedKeyId(path: string): string | null {
  const first = readAt(path, 0, MAGIC.length + 1 + 255);
  if (first.length < MAGIC.length + 1 || !Buffer.from(first.subarray(0, MAGIC.length)).equals(MAGIC)) return null;
  const idLength = first[MAGIC.length]!;
  return Buffer.from(first.subarray(MAGIC.length + 1, MAGIC.length + 1 + idLength)).toString("ascii");
}

function readAt(path: string, position: number, length: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, position);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * The plaintext of a sealed file, record by record: each one is yielded only after its tag
 * checked, so that nothing altered ever leaves; a file cut short fails at its end.
 */
export async function* unsealFile(path: string, keys: KeyRing, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const reader = Bun.file(path).stream().getReader();
  // Stopping the reading lets go of the file at once, even while a read waits.
  const stop = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", stop, { once: true });
  try {
    yield* records(reader, keys, signal);
  } finally {
    signal?.removeEventListener("abort", stop);
    // Also when the reading stops early (a download cancelled): the file is let go now, not at the next collection.
    await reader.cancel().catch(() => {});
  }
}

async function* records(reader: ReadableStreamDefaultReader<Uint8Array>, keys: KeyRing, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const stream = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || signal?.aborted) return;
        yield value;
      }
    },
  };
  let buffered = Buffer.alloc(0);
  let opened: { secret: Buffer; head: Buffer } | null = null;
  let index = 0;
  const full = RECORD_BYTES + TAG_BYTES;
  const open = (record: Buffer, final: boolean) => {
    const decipher = createDecipheriv("aes-256-gcm", opened!.secret, nonce(index++, final));
    decipher.setAAD(opened!.head);
    decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealError(UNREADABLE);
    }
  };
  for await (const chunk of stream) {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : Buffer.from(chunk);
    if (!opened) {
      const headLength = buffered.length > MAGIC.length ? MAGIC.length + 1 + buffered[MAGIC.length]! + SALT_BYTES : Infinity;
      if (buffered.length < headLength) continue;
      opened = openHeader(buffered, keys);
      buffered = buffered.subarray(opened.head.length);
    }
    // A record is opened as not last only when more bytes follow it.
    let at = 0;
    while (buffered.length - at > full) {
      yield open(buffered.subarray(at, at + full), false);
      at += full;
    }
    buffered = buffered.subarray(at);
  }
  if (!opened) opened = openHeader(buffered, keys);
  if (buffered.length < TAG_BYTES) throw new SealError(UNREADABLE);
  const last = open(buffered, true);
  if (last.length) yield last;
}

/** The plaintext of a sealed file, whole: for files whose size the program already bounds. */
export async function unsealWhole(path: string, keys: KeyRing): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  for await (const part of unsealFile(path, keys)) parts.push(part);
  return new Uint8Array(Buffer.concat(parts));
}

/** Writes bytes sealed to `path`, readable by its owner only. */
export function writeSealed(path: string, key: Key, plain: Uint8Array): void {
  writeFileSync(path, seal(key, plain), { mode: 0o600 });
}

/**
 * A download of a sealed file: the plaintext streamed as it is checked. A record that fails
 * its check errors the stream before any of its bytes are sent, and the response breaks off.
 */
export function unsealedStream(path: string, keys: KeyRing): ReadableStream<Uint8Array> {
  const records = unsealFile(path, keys);
  return new ReadableStream({
    async pull(controller) {
      try {
        const next = await records.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await records.return(undefined);
    },
  });
}

/** Where the first start keeps the key it made, when none was given. */
export const generatedKeyPath = (dataDir: string) => join(dataDir, "placement.key");

/**
 * The keys of this run: DATA_KEY (or DATA_KEY_FILE) when given; else the key file the first
 * start left in DATA_DIR; else, only for a data folder without a database yet, a new key,
 * written there and announced. An existing database without its key is refused.
 */
export function resolveKeys(config: { DATA_DIR: string; DATA_KEY: string }, databaseExists: boolean): { keys: KeyRing; made: string | null; fromDataDir: boolean } {
  if (config.DATA_KEY.trim()) return { keys: keyRingOf(config.DATA_KEY), made: null, fromDataDir: false };
  const path = generatedKeyPath(config.DATA_DIR);
  if (existsSync(path)) return { keys: keyRingOf(readFileSync(path, "utf8")), made: null, fromDataDir: true };
  if (databaseExists) {
    throw new SealError(
      `the database in ${config.DATA_DIR} needs its data key: set DATA_KEY or DATA_KEY_FILE to the key its files were sealed with (for a database of a version before sealing, a new one: openssl rand -base64 32)`,
    );
  }
  try {
    // Exclusive: two first starts at once end with one key, the first one's.
    writeFileSync(path, `${newKeyText()}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return { keys: keyRingOf(readFileSync(path, "utf8")), made: null, fromDataDir: true };
  }
  chmodSync(path, 0o600);
  return { keys: keyRingOf(readFileSync(path, "utf8")), made: path, fromDataDir: true };
}

/**
 * Checks the keys against the database: at least one must be a key its files were sealed
 * with (a new database has none yet), and the newest is recorded as in use. Refused with a
 * sentence before anything is written.
 */
export function adoptKeys(db: Db, keys: KeyRing, now: Date): void {
  // A database of a version before sealing has no record yet: its migration brings it.
  if (db.$client.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'data_keys'").get() === null) return;
  const known = (db.$client.query("SELECT id FROM data_keys").all() as { id: string }[]).map((k) => k.id);
  if (known.length && !keys.some((k) => known.includes(k.id))) {
    throw new SealError(
      `none of the data keys given is one this database's files were sealed with (${known.join(", ")}): give DATA_KEY or DATA_KEY_FILE the key they were written with`,
    );
  }
  db.$client.query("INSERT OR IGNORE INTO data_keys (id, first_used_at) VALUES (?, ?)").run(keys[0]!.id, now.getTime());
}

/** Seals a file into another, a record at a time; every write checked. */
export async function sealInto(from: string, to: string, key: Key): Promise<void> {
  const out = checkedWriter(to);
  const seal = sealer(key, (chunk) => out.write(chunk));
  for await (const chunk of Bun.file(from).stream()) seal.write(chunk);
  seal.end();
  await out.end();
}

/** Unseals a file into another, a record at a time; every write checked. */
export async function unsealInto(from: string, to: string, keys: KeyRing): Promise<void> {
  const out = checkedWriter(to);
  for await (const chunk of unsealFile(from, keys)) out.write(chunk);
  await out.end();
}

/** Seals a file of the data folder that an earlier version left plain; one already sealed is left alone. */
export async function sealInPlace(path: string, key: Key): Promise<boolean> {
  if (!existsSync(path) || sealedKeyId(path) !== null) return false;
  const sealing = `${path}.sealing`;
  try {
    await sealInto(path, sealing, key);
    // Renamed over the plain file: a stop in between leaves one or the other, whole.
    renameSync(sealing, path);
  } finally {
    rmSync(sealing, { force: true });
  }
  return true;
}

/**
 * Seals a file again with the newest key, when an older one sealed it. The new file is
 * written beside it and renamed over it: a stop at any moment leaves the file whole under
 * one of the two keys.
 */
export async function resealInPlace(path: string, keys: KeyRing): Promise<boolean> {
  const id = existsSync(path) ? sealedKeyId(path) : null;
  if (id === null || id === keys[0]!.id) return false;
  const rotating = `${path}.rotating`;
  try {
    const out = checkedWriter(rotating);
    const seal = sealer(keys[0]!, (chunk) => out.write(chunk));
    for await (const chunk of unsealFile(path, keys)) seal.write(chunk);
    seal.end();
    await out.end();
    // A file the program deleted meanwhile (expired) is not brought back.
    if (!existsSync(path)) return false;
    renameSync(rotating, path);
  } finally {
    rmSync(rotating, { force: true });
  }
  return true;
}

/** After a rotation: only the newest key is one the files are sealed with. */
export function retireOlderKeys(db: Db, keys: KeyRing): void {
  db.$client.query("DELETE FROM data_keys WHERE id != ?").run(keys[0]!.id);
}
