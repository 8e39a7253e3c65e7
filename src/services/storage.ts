import { statfsSync } from "node:fs";

/*
 * The data folder's disk, as seen by the program: how much room is left, and whether an
 * error means that nothing could be saved there (a full disk, a quota) rather than a fault.
 */

/** Free bytes for this user in the folder's file system; null when the system cannot say. */
export function freeBytes(dir: string): number | null {
  try {
    const stats = statfsSync(dir);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return null;
  }
}

const FULL_CODES = new Set(["SQLITE_FULL", "ENOSPC", "EDQUOT"]);

/** Whether an error says the disk is full: SQLite's "database or disk is full", or the system's. */
export function isStorageFull(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (FULL_CODES.has(code) || code.startsWith("SQLITE_FULL"))) return true;
    if (/database or disk is full|no space left on device/i.test(String((e as Error).message ?? e))) return true;
  }
  return false;
}

export const STORAGE_FULL_MESSAGE =
  "Placement non riesce a salvare i dati in questo momento e nessuna modifica è stata registrata. Riprova tra qualche minuto; se il problema continua, avvisa il Fondo.";
