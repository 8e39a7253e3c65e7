import { existsSync, readdirSync, rmSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";

/*
 * The files the program writes in DATA_DIR beside the database. Rows keep their paths
 * relative to DATA_DIR ("uploads/…"), so that a backup restored into another folder still
 * finds its files; this module is the one place that turns them into real paths.
 */

export const FILE_FOLDERS = ["exports", "uploads", "outcomes"] as const;
export type FileFolder = (typeof FILE_FOLDERS)[number];

// Every column that names a file, and the folder its files live in.
const FILE_COLUMNS = [
  { table: "export_jobs", column: "file_path" },
  { table: "import_jobs", column: "file_path" },
  { table: "import_jobs", column: "outcome_path" },
  { table: "master_data_jobs", column: "file_path" },
  { table: "master_data_jobs", column: "outcome_path" },
] as const;

/** The stored name of a file in one of the folders. */
export const storedName = (folder: FileFolder, name: string) => `${folder}/${name}`;

/** The real path of a stored name; a name that would leave DATA_DIR is refused. */
export function dataFile(config: Pick<Config, "DATA_DIR">, stored: string): string {
  const relative = normalize(stored);
  if (isAbsolute(relative) || relative.startsWith("..") || !FILE_FOLDERS.some((f) => relative.startsWith(`${f}/`))) {
    throw new Error(`not a file of the data folder: ${stored}`);
  }
  return join(config.DATA_DIR, relative);
}

/** Cleaning up must not hide the error being handled. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {}
}

/**
 * Rewrites, once, the absolute paths that earlier versions stored, wherever the data folder
 * was then: "/old/place/uploads/x.xlsx" becomes "uploads/x.xlsx". Rows already relative
 * are left alone, so running it again changes nothing. Returns how many were rewritten.
 */
export function relativizeFilePaths(db: Db): number {
  let rewritten = 0;
  db.$client.transaction(() => {
    for (const { table, column } of FILE_COLUMNS) {
      const rows = db.$client.query(`SELECT id, ${column} AS path FROM ${table} WHERE ${column} LIKE '/%'`).all() as { id: number; path: string }[];
      for (const row of rows) {
        const parts = row.path.split("/");
        const at = parts.findLastIndex((p) => (FILE_FOLDERS as readonly string[]).includes(p));
        const relative = at >= 0 && at < parts.length - 1 ? parts.slice(at).join("/") : "";
        db.$client.query(`UPDATE ${table} SET ${column} = ? WHERE id = ?`).run(relative, row.id);
        rewritten++;
      }
    }
  }).immediate();
  return rewritten;
}

/** The stored names of the files the rows name ("uploads/…"). */
const storedNames = (db: Db): string[] =>
  FILE_COLUMNS.flatMap(({ table, column }) =>
    (db.$client.query(`SELECT ${column} AS path FROM ${table} WHERE ${column} IS NOT NULL AND ${column} != ''`).all() as { path: string }[]).map((row) => row.path),
  );

/** The files the rows name, as real paths. */
export const namedFiles = (db: Db, config: Pick<Config, "DATA_DIR">): string[] => storedNames(db).map((name) => dataFile(config, name));

/**
 * Removes the files that no row names: what an attempt that died left behind (a `.part`,
 * an outcome of an attempt run again, an upload cut short). Run at start, before any job.
 */
export function sweepOrphanFiles(db: Db, config: Pick<Config, "DATA_DIR">): string[] {
  const named = new Set(storedNames(db).map((name) => normalize(name)));
  const removed: string[] = [];
  for (const folder of FILE_FOLDERS) {
    const dir = join(config.DATA_DIR, folder);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (named.has(storedName(folder, name))) continue;
      removeQuietly(join(dir, name));
      removed.push(storedName(folder, name));
    }
  }
  return removed;
}
