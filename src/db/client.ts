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

// How long a write waits for another connection's transaction before it fails.
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the database. SQLite itself refuses a file that is not a database, before writing
 * anything: no other check opens the file, since closing any descriptor of it would drop
 * this process's SQLite locks on it.
 */
export function openDatabase(path: string, options: { readonly?: boolean } = {}): Db {
  const sqlite = new Database(path, options.readonly ? { readonly: true, strict: true } : { create: true, strict: true });
  try {
    sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
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

// SQLITE_BUSY and its extended codes (a WAL being recovered, a snapshot overtaken).
const isBusy = (error: unknown) => (Number((error as { errno?: unknown } | null)?.errno) & 0xff) === 5;

/**
 * Runs `write` in an immediate transaction without holding the thread while another
 * connection (a job's worker applying an upload) has the write lock. SQLite's busy handler
 * sleeps the calling thread; on the server's own thread that held every page for as long
 * as the job's transaction lasted (bench/burst.ts: the pages' p99 at 13× idle). This tries
 * at once, then again after a few milliseconds at a time, up to the same busy timeout.
 * `write` may run more than once: it only reads and writes the database.
 */
export async function writeYielding<T>(db: Db, write: () => T): Promise<T> {
  const deadline = performance.now() + BUSY_TIMEOUT_MS;
  for (let pause = 1; ; pause = Math.min(pause * 2, 16)) {
    const written = writeIfFree(db, write);
    if (written.done) return written.value;
    if (performance.now() >= deadline) throw written.error;
    await Bun.sleep(pause);
  }
}

/** Runs `write` in an immediate transaction if no other connection is writing, without waiting. */
function writeIfFree<T>(db: Db, write: () => T): { done: true; value: T } | { done: false; error: unknown } {
  const sqlite = db.$client;
  // Inside a transaction the write would be a savepoint: refused, the outer one would commit without it.
  if (sqlite.inTransaction) throw new Error("writeIfFree and writeYielding start their own transaction: call them outside one");
  sqlite.exec("PRAGMA busy_timeout = 0");
  try {
    return { done: true, value: sqlite.transaction(write).immediate() };
  } catch (error) {
    if (isBusy(error)) return { done: false, error };
    throw error;
  } finally {
    sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}
