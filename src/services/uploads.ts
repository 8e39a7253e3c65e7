import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { dataPaths, type Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import { removeQuietly } from "../jobs/files.ts";
import { UploadError } from "../sheets/upload-error.ts";
import { sniffFormat } from "../sheets/upload-parse.ts";
import { parseInChild, type ChildLimits } from "../sheets/upload-runner.ts";
import type { User } from "./auth.ts";
import type { Clock } from "./clock.ts";
import { campaignClosedReason } from "./exports.ts";
import { queueImport, uploadHeaderProblem } from "./imports.ts";

export type UploadResult = { ok: true; id: number; fileName: string } | { ok: false; error: string };

/**
 * The checks made while the clerk waits: campaign open, real file type, a readable header
 * with the required columns, metadata of this agency and year. Only then is the file
 * stored, with its SHA-256, and queued; otherwise nothing is kept.
 */
export async function acceptUpload(
  deps: { db: Db; clock: Clock; config: Config },
  user: User,
  agencyCode: string,
  input: { fileName: string; bytes: Uint8Array; year: number },
  limits: ChildLimits,
): Promise<UploadResult> {
  const { db, clock, config } = deps;
  if (user.agencyId === null) return { ok: false, error: "I caricamenti si fanno per un'agenzia: accedi con un'utenza dell'agenzia." };
  const closed = campaignClosedReason(db, input.year, clock.now());
  if (closed) return { ok: false, error: closed };
  try {
    sniffFormat(input.bytes);
  } catch (error) {
    if (error instanceof UploadError) return { ok: false, error: error.message };
    throw error;
  }
  const dir = dataPaths(config).uploads;
  mkdirSync(dir, { recursive: true });
  const pending = join(dir, `incoming-${crypto.randomUUID()}`);
  await Bun.write(pending, input.bytes);
  try {
    let problem: string | null = "Il file non può essere letto: salvalo di nuovo dal programma di calcolo e ricaricalo.";
    let format: "xlsx" | "xls" | "ods" | "csv" = "csv";
    for await (const message of parseInChild(pending, true, limits)) {
      if (message.t === "error") problem = message.message;
      if (message.t === "header") {
        format = message.format;
        problem = uploadHeaderProblem(message.header, message.metadata, { agencyCode, year: input.year });
      }
    }
    if (problem) return { ok: false, error: problem };
    const stored = join(dir, `${crypto.randomUUID()}.${format}`);
    renameSync(pending, stored);
    let id: number;
    try {
      id = queueImport(db, clock, {
      agencyId: user.agencyId,
      userId: user.id,
      year: input.year,
      fileName: input.fileName.slice(0, 255),
      filePath: stored,
      fileSha256: new Bun.CryptoHasher("sha256").update(input.bytes).digest("hex"),
      fileFormat: format,
      fileSize: input.bytes.length,
      });
    } catch (error) {
      removeQuietly(stored);
      throw error;
    }
    return { ok: true, id, fileName: input.fileName };
  } finally {
    removeQuietly(pending);
  }
}
