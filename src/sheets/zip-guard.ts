import { crc32, createInflateRaw, inflateRawSync } from "node:zlib";
import { UploadError } from "./upload-error.ts";

/*
 * Reading a zip that may be hostile. The central directory is parsed here, and each entry
 * is inflated by the native zlib with a cap on its output, so a zip bomb stops at the cap
 * and sizes that lie in the headers are never trusted for memory: only the bytes that
 * really come out count. What comes out must have the directory's CRC: a damaged entry can
 * still inflate, short, without an error. Native inflate, not fflate's, because it is ten times faster on
 * the 60 MB a 100,000-row sheet decompresses to (bench/import.ts).
 */

export type ZipLimits = { maxEntries: number; maxTotalBytes: number; maxRatio: number };
export const ZIP_LIMITS: ZipLimits = { maxEntries: 2_000, maxTotalBytes: 400 * 1024 * 1024, maxRatio: 200 };

// The pieces zlib inflates into, whatever size the directory declares.
const MIN_PIECE = 64 * 1024;
const MAX_PIECE = 256 * 1024 * 1024;

// The pieces of an entry read as a stream.
const STREAM_PIECE = 1024 * 1024;

// Below this much output the ratio says nothing: tiny parts compress very well.
const RATIO_FLOOR_BYTES = 4 * 1024 * 1024;

const DAMAGED = "Il file è danneggiato o incompleto: salvalo di nuovo dal programma di calcolo e ricaricalo.";
const BOMB =
  "Il file si espande in modo anomalo una volta decompresso: non è un foglio di calcolo valido. Salvalo di nuovo e ricaricalo.";

/** `declaredSize` is what the directory says the entry inflates to: a hint, never a bound. */
type Entry = { name: string; method: number; crc: number; compressedSize: number; declaredSize: number; headerOffset: number };

export class ZipArchive {
  readonly names: string[];
  private entries = new Map<string, Entry>();
  private inflatedTotal = 0;

  constructor(
    private bytes: Uint8Array,
    private limits: ZipLimits = ZIP_LIMITS,
  ) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = findEndOfDirectory(view);
    const count = view.getUint16(end + 10, true);
    let offset = view.getUint32(end + 16, true);
    if (count > limits.maxEntries) {
      throw new UploadError(`Il file contiene troppi elementi (più di ${limits.maxEntries}): non è un foglio di calcolo valido.`);
    }
    const decoder = new TextDecoder();
    for (let i = 0; i < count; i++) {
      if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) throw new UploadError(DAMAGED);
      const flags = view.getUint16(offset + 8, true);
      const method = view.getUint16(offset + 10, true);
      const crc = view.getUint32(offset + 16, true);
      const compressedSize = view.getUint32(offset + 20, true);
      const declaredSize = view.getUint32(offset + 24, true);
      const nameLength = view.getUint16(offset + 28, true);
      const extraLength = view.getUint16(offset + 30, true);
      const commentLength = view.getUint16(offset + 32, true);
      const headerOffset = view.getUint32(offset + 42, true);
      const name = decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
      if (flags & 1) throw new UploadError("Il file è protetto da password: toglila e ricaricalo.");
      if (name.split(/[\\/]/).includes("..") || name.startsWith("/")) {
        throw new UploadError("Il file contiene percorsi non validi: non è un foglio di calcolo valido.");
      }
      this.entries.set(name, { name, method, crc, compressedSize, declaredSize, headerOffset });
      offset += 46 + nameLength + extraLength + commentLength;
    }
    this.names = [...this.entries.keys()];
    if (this.names.length === 0) throw new UploadError(DAMAGED);
  }

  /** The decompressed bytes of an entry, or null when there is none by that name. */
  read(name: string): Uint8Array | null {
    const found = this.locate(name);
    if (!found) return null;
    const { entry, compressed, cap } = found;
    let output: Uint8Array;
    if (entry.method === 0) {
      output = compressed;
    } else {
      try {
        // Output in pieces of the declared size, within the cap: zlib's default 16 KB pieces,
        // joined at the end, doubled the peak memory of a large sheet and its time. A size
        // that lies only makes more pieces; the cap still counts what really comes out.
        const piece = Math.min(Math.max(MIN_PIECE, entry.declaredSize), Math.max(MIN_PIECE, cap), MAX_PIECE);
        output = inflateRawSync(compressed, { maxOutputLength: Math.max(1, cap), chunkSize: piece });
      } catch (error) {
        throw new UploadError((error as Error).name === "RangeError" || /maxOutputLength|buffer/i.test(String(error)) ? BOMB : DAMAGED);
      }
    }
    if (output.length > cap) throw new UploadError(BOMB);
    this.inflatedTotal += output.length;
    if (crc32(output) !== entry.crc) throw new UploadError(DAMAGED);
    return output;
  }

  /**
   * The decompressed bytes of an entry a piece at a time, inflated on zlib's threads as they
   * are taken, within the same caps as `read`: what comes out is counted as it comes, and
   * the inflating stops at the cap. Stopping the iteration stops the inflating.
   */
  async *stream(name: string): AsyncGenerator<Uint8Array> {
    const found = this.locate(name);
    if (!found) return;
    const { entry, compressed, cap } = found;
    if (entry.method === 0) {
      if (compressed.length > cap) throw new UploadError(BOMB);
      if (crc32(compressed) !== entry.crc) throw new UploadError(DAMAGED);
      this.inflatedTotal += compressed.length;
      for (let at = 0; at < compressed.length; at += STREAM_PIECE) yield compressed.subarray(at, at + STREAM_PIECE);
      return;
    }
    const inflater = createInflateRaw({ chunkSize: STREAM_PIECE });
    inflater.end(compressed);
    let total = 0;
    let crc = 0;
    try {
      for await (const piece of inflater as AsyncIterable<Buffer>) {
        total += piece.length;
        if (total > cap) throw new UploadError(BOMB);
        crc = crc32(piece, crc);
        yield piece;
      }
      // Known only at the end: the rows already given belong to a file that is then refused.
      if (crc !== entry.crc) throw new UploadError(DAMAGED);
    } catch (error) {
      throw error instanceof UploadError ? error : new UploadError(DAMAGED);
    } finally {
      inflater.destroy();
      this.inflatedTotal += total;
    }
  }

  /** Where an entry's bytes are, and how much it may inflate to: the rest of the total, and the ratio. */
  private locate(name: string): { entry: Entry; compressed: Uint8Array; cap: number } | null {
    const entry = this.entries.get(name);
    if (!entry) return null;
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const local = entry.headerOffset;
    if (local + 30 > this.bytes.length || view.getUint32(local, true) !== 0x04034b50) throw new UploadError(DAMAGED);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const end = start + entry.compressedSize;
    if (end > this.bytes.length) throw new UploadError(DAMAGED);
    if (entry.method !== 0 && entry.method !== 8) {
      throw new UploadError("Il file usa una compressione non supportata: salvalo di nuovo in formato .xlsx e ricaricalo.");
    }
    const compressed = this.bytes.subarray(start, end);
    const remaining = this.limits.maxTotalBytes - this.inflatedTotal;
    const cap = Math.min(remaining, Math.max(RATIO_FLOOR_BYTES, compressed.length * this.limits.maxRatio));
    return { entry, compressed, cap };
  }

  /** Inflates every entry once, within the caps: for readers that take the whole file. */
  verifyAll(): void {
    for (const name of this.names) this.read(name);
  }
}

function findEndOfDirectory(view: DataView): number {
  const min = Math.max(0, view.byteLength - 22 - 0xffff);
  for (let i = view.byteLength - 22; i >= min; i--) {
    if (view.getUint32(i, true) === 0x06054b50) return i;
  }
  throw new UploadError(DAMAGED);
}
