import { rmSync } from "node:fs";

/** Cleaning up must not hide the error being handled. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {}
}
