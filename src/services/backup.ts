import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { dataPaths, type Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import type { Clock } from "./clock.ts";
import { serverRunning } from "./instance.ts";
import { sealInto, unsealInto, type Key, type KeyRing } from "./sealed-files.ts";

export class BackupError extends Error {}

const stamp = (now: Date) => now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");

/** DATA_DIR/backups/<kind>-<UTC time>.db */
export function backupPath(config: Pick<Config, "DATA_DIR">, now: Date, kind: "placement" | "pre-migration"): string {
  return join(dataPaths(config).backups, `${kind}-${stamp(now)}.db`);
}

/**
 * A consistent copy of the live database, taken with VACUUM INTO while the program keeps
 * serving (readers and the writer are not stopped), sealed with `key`. The plain copy
 * lives beside the target only while it is sealed; the sealed one is renamed into place.
 */
export async function backupDatabase(db: Db, target: string, key: Key): Promise<{ path: string; bytes: number }> {
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target)) throw new BackupError(`${target} already exists; choose another file`);
  const plain = `${target}.part`;
  const sealed = `${target}.sealing`;
  try {
    rmSync(plain, { force: true });
    db.$client.query("VACUUM INTO ?").run(plain);
    await sealInto(plain, sealed, key);
    renameSync(sealed, target);
  } finally {
    rmSync(plain, { force: true });
    rmSync(sealed, { force: true });
  }
  return { path: target, bytes: statSync(target).size };
}

/**
 * Removes what a backup, a restore or a key rotation cut short by a stop left behind, in the
 * backups folder and beside the database: some of it is a plain copy.
 */
export function sweepBackupParts(config: Pick<Config, "DATA_DIR">): string[] {
  const left = (dir: string, keep: (name: string) => boolean) =>
    existsSync(dir) ? readdirSync(dir).filter(keep).map((name) => join(dir, name)) : [];
  const unfinished = (name: string) => [".part", ".sealing", ".rotating"].some((end) => name.endsWith(end));
  const parts = [
    ...left(dataPaths(config).backups, unfinished),
    ...left(config.DATA_DIR, (name) => name === "placement.db.restoring" || (name.startsWith("placement.db.before-restore-") && unfinished(name))),
  ];
  for (const path of parts) rmSync(path, { force: true });
  return parts;
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
export async function restoreDatabase(config: Pick<Config, "DATA_DIR">, clock: Clock, source: string, keys: KeyRing): Promise<{ replaced: string | null }> {
  if (serverRunning(config)) throw new BackupError("the program is running on this DATA_DIR; stop it before restoring");
  if (!existsSync(source)) throw new BackupError(`${source} does not exist`);
  const { database } = dataPaths(config);
  mkdirSync(dirname(database), { recursive: true });
  const restoring = `${database}.restoring`;
  try {
    await unsealInto(source, restoring, keys);
  } catch (error) {
    rmSync(restoring, { force: true });
    throw new BackupError(`${source} cannot be read as a sealed Placement backup (${(error as Error).message}); nothing was changed`);
  }
  let check: Database | undefined;
  try {
    check = new Database(restoring, { readonly: true });
    const result = check.query("PRAGMA integrity_check").get() as { integrity_check: string };
    if (result.integrity_check !== "ok") throw new Error(result.integrity_check);
    check.query("SELECT count(*) FROM __drizzle_migrations").get();
    check.close();
    // The keys that opened the backup are the ones its files are now sealed with, rotated or not.
    check = new Database(restoring);
    if (check.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'data_keys'").get()) {
      for (const key of keys) check.query("INSERT OR IGNORE INTO data_keys (id, first_used_at) VALUES (?, ?)").run(key.id, clock.now().getTime());
    }
  } catch (error) {
    check?.close();
    check = undefined;
    rmSync(restoring, { force: true });
    throw new BackupError(`${source} is not a Placement database backup (${(error as Error).message}); nothing was changed`);
  } finally {
    check?.close();
  }
  let replaced: string | null = null;
  if (existsSync(database)) {
    // The replaced database, with what its write-ahead log holds, is kept beside it as a sealed backup.
    replaced = `${database}.before-restore-${stamp(clock.now())}`;
    const old = new Database(database);
    try {
      await backupDatabase({ $client: old } as Db, replaced, keys[0]!);
    } finally {
      old.close();
    }
  }
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${database}${suffix}`, { force: true });
  renameSync(restoring, database);
  return { replaced };
}


