import { Database } from "bun:sqlite";
import { closeSync, openSync, readSync } from "node:fs";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import * as schema from "./schema.ts";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

export class DatabaseFileError extends Error {}

const SQLITE_HEADER = "SQLite format 3\0";

/** Refuses, before SQLite touches it, a non-empty file that is not an SQLite database. */
function assertSqliteFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new DatabaseFileError(`cannot read the database file ${path}: ${(error as Error).message}`);
  }
  try {
    const header = Buffer.alloc(16);
    const read = readSync(fd, header, 0, 16, 0);
    if (read === 0) return;
    if (read < 16 || header.toString("latin1") !== SQLITE_HEADER) {
      throw new DatabaseFileError(
        `${path} is not an SQLite database; move it away or set DATA_DIR to another folder (nothing was changed)`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

export function openDatabase(path: string, options: { readonly?: boolean } = {}): Db {
  assertSqliteFile(path);
  if (options.readonly) {
    const sqlite = new Database(path, { readonly: true, strict: true });
    sqlite.exec("PRAGMA busy_timeout = 5000");
    return drizzle({ client: sqlite, schema }) as Db;
  }
  const sqlite = new Database(path, { create: true, strict: true });
  sqlite.exec("PRAGMA busy_timeout = 5000");
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("PRAGMA synchronous = NORMAL");
  sqlite.exec("PRAGMA foreign_keys = ON");
  return drizzle({ client: sqlite, schema }) as Db;
}
