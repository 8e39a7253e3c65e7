import type { MigrationMeta } from "drizzle-orm/migrator";
import type { Db } from "./client.ts";
import { embeddedMigrations } from "./migrations.gen.ts";

const BREAKPOINT = "--> statement-breakpoint";

/** The migrations built into this program, in the shape drizzle's own migrator reads from disk. */
export function migrationsMeta(): MigrationMeta[] {
  return embeddedMigrations.map((m) => ({
    sql: m.sql.split(BREAKPOINT),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: new Bun.CryptoHasher("sha256").update(m.sql).digest("hex"),
  }));
}

/** Applies the pending migrations in one transaction; returns how many were applied. */
export function migrate(db: Db): number {
  const before = appliedCount(db);
  // drizzle's own migrator reads files from disk; its dialect applies embedded ones the same way.
  const internals = db as unknown as {
    dialect: { migrate(migrations: MigrationMeta[], session: unknown, config: object): void };
    session: unknown;
  };
  internals.dialect.migrate(migrationsMeta(), internals.session, {});
  return appliedCount(db) - before;
}

function appliedCount(db: Db): number {
  const exists = db.$client
    .query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  if (!exists) return 0;
  return (db.$client.query("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number }).n;
}

/** How many of the built-in migrations the database has not had yet. */
export function pendingMigrations(db: Db): number {
  return embeddedMigrations.length - appliedCount(db);
}
