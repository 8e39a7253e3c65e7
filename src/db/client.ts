import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import * as schema from "./schema.ts";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

export class DatabaseFileError extends Error {}

/** A statement asked at every request, prepared once per database and reused. */
export function preparedPerDatabase<T>(prepare: (db: Db) => T): (db: Db) => T {
  const prepared = new WeakMap<Db, T>();
  return (db) => {
    let statement = prepared.get(db);
    if (!statement) prepared.set(db, (statement = prepare(db)));
    return statement;
  };
}

/**
 * Opens the database. SQLite itself refuses a file that is not a database, before writing
 * anything: no other check opens the file, since closing any descriptor of it would drop
 * this process's SQLite locks on it.
 */
export function openDatabase(path: string, options: { readonly?: boolean } = {}): Db {
  const sqlite = new Database(path, options.readonly ? { readonly: true, strict: true } : { create: true, strict: true });
  try {
    sqlite.exec("PRAGMA busy_timeout = 5000");
    if (options.readonly) {
      sqlite.query("PRAGMA schema_version").get();
    } else {
      sqlite.exec("PRAGMA journal_mode = WAL");
      sqlite.exec("PRAGMA synchronous = NORMAL");
      sqlite.exec("PRAGMA foreign_keys = ON");
      // A row a REPLACE removes runs its delete triggers, which keep the dashboards' counts.
      sqlite.exec("PRAGMA recursive_triggers = ON");
    }
  } catch (error) {
    sqlite.close();
    if (/not a database/i.test(String(error))) {
      throw new DatabaseFileError(`${path} is not an SQLite database; move it away or set DATA_DIR to another folder (nothing was changed)`);
    }
    throw error;
  }
  return drizzle({ client: sqlite, schema }) as Db;
}
