import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { dataPaths, type Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import type { Clock } from "./clock.ts";
import { serverRunning } from "./instance.ts";

export class BackupError extends Error {}

const stamp = (now: Date) => now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");

/** DATA_DIR/backups/<kind>-<UTC time>.db */
export function backupPath(config: Pick<Config, "DATA_DIR">, now: Date, kind: "placement" | "pre-migration"): string {
  return join(dataPaths(config).backups, `${kind}-${stamp(now)}.db`);
}

/**
 * A consistent copy of the live database, taken with VACUUM INTO while the program keeps
 * serving: readers and the writer are not stopped. Written beside the target, then renamed.
 */
export function backupDatabase(db: Db, target: string): { path: string; bytes: number } {
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target)) throw new BackupError(`${target} already exists; choose another file`);
  const partial = `${target}.part`;
  rmSync(partial, { force: true });
  db.$client.query("VACUUM INTO ?").run(partial);
  renameSync(partial, target);
  return { path: target, bytes: statSync(target).size };
}

/** Keeps the newest `keep` backups of each kind, scheduled and taken before migrations, and deletes the older ones. */
export function pruneBackups(config: Pick<Config, "DATA_DIR">, keep: number): string[] {
  const dir = dataPaths(config).backups;
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir);
  const removed = ["placement", "pre-migration"].flatMap((kind) =>
    names
      .filter((name) => new RegExp(`^${kind}-\\d{8}-\\d{6}\\.db$`).test(name))
      .sort()
      .reverse()
      .slice(keep),
  );
  for (const name of removed) rmSync(join(dir, name), { force: true });
  return removed;
}

/**
 * Puts a backup in place of the database, only while the program is stopped. The backup is
 * checked first; the database it replaces is kept beside it.
 */
export function restoreDatabase(config: Pick<Config, "DATA_DIR">, clock: Clock, source: string): { replaced: string | null } {
  if (serverRunning(config)) throw new BackupError("the program is running on this DATA_DIR; stop it before restoring");
  if (!existsSync(source)) throw new BackupError(`${source} does not exist`);
  let check: Database | undefined;
  try {
    check = new Database(source, { readonly: true });
    const result = check.query("PRAGMA integrity_check").get() as { integrity_check: string };
    if (result.integrity_check !== "ok") throw new Error(result.integrity_check);
    check.query("SELECT count(*) FROM __drizzle_migrations").get();
  } catch (error) {
    throw new BackupError(`${source} is not a Placement database backup (${(error as Error).message}); nothing was changed`);
  } finally {
    check?.close();
  }
  const { database } = dataPaths(config);
  mkdirSync(dirname(database), { recursive: true });
  let replaced: string | null = null;
  if (existsSync(database)) {
    replaced = `${database}.before-restore-${stamp(clock.now())}`;
    renameSync(database, replaced);
  }
  // The write-ahead log belongs to the database it was written for: it moves with it.
  for (const suffix of ["-wal", "-shm"]) {
    if (!existsSync(`${database}${suffix}`)) continue;
    if (replaced) renameSync(`${database}${suffix}`, `${replaced}${suffix}`);
    else rmSync(`${database}${suffix}`, { force: true });
  }
  copyFileSync(source, database);
  return { replaced };
}
