import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.ts";

/*
 * One server per data folder. A running server holds an exclusive lock on
 * DATA_DIR/placement.lock for its whole life: the operating system grants it to one process
 * at a time and frees it when that process ends, however it ends, so no stale file or
 * reused process id can keep a restart out. Nothing else opens that file, so no descriptor
 * of it is ever closed under the lock.
 */

const lockPath = (config: Pick<Config, "DATA_DIR">) => join(config.DATA_DIR, "placement.lock");

/** Takes the lock, or null when another process holds it; `release` gives it back. */
export function holdInstanceLock(config: Pick<Config, "DATA_DIR">): { release(): void } | null {
  const db = new Database(lockPath(config), { create: true });
  try {
    db.exec("PRAGMA busy_timeout = 0");
    // In exclusive locking mode the lock taken by a write is kept until the connection closes.
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER)");
    db.exec("DELETE FROM holder");
    db.query("INSERT INTO holder (pid) VALUES (?)").run(process.pid);
    db.exec("COMMIT");
  } catch {
    db.close();
    return null;
  }
  return { release: () => db.close() };
}

/** Whether a server holds the data folder right now. */
export function serverRunning(config: Pick<Config, "DATA_DIR">): boolean {
  if (!existsSync(config.DATA_DIR)) return false;
  const lock = holdInstanceLock(config);
  lock?.release();
  return lock === null;
}
