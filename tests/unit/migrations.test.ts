import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { embeddedMigrations } from "../../src/db/migrations.gen.ts";

const root = join(import.meta.dir, "../..");

function withDatabase(run: (path: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "placement-migrate-"));
  try {
    run(join(dir, "placement.db"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const schemaOf = (db: ReturnType<typeof openDatabase>) =>
  db.$client.query("SELECT type, name, sql FROM sqlite_master ORDER BY name").all();

describe("migrations", () => {
  test("an empty database gets every table and the reference lists", () => {
    withDatabase((path) => {
      const db = openDatabase(path);
      expect(migrate(db)).toBe(embeddedMigrations.length);
      const tables = db.$client
        .query("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((r) => (r as { name: string }).name);
      for (const table of ["agencies", "users", "sessions", "enrollments", "export_jobs", "import_jobs", "mail_outbox", "audit_log"]) {
        expect(tables).toContain(table);
      }
      const count = (table: string) => (db.$client.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      expect(count("training_types")).toBe(6);
      expect(count("vulnerable_categories")).toBe(9);
      expect(count("contract_types")).toBe(5);
      db.$client.close();
    });
  });

  test("running them again changes nothing", () => {
    withDatabase((path) => {
      const db = openDatabase(path);
      migrate(db);
      const before = schemaOf(db);
      expect(migrate(db)).toBe(0);
      db.$client.close();
      const reopened = openDatabase(path);
      expect(migrate(reopened)).toBe(0);
      expect(schemaOf(reopened)).toEqual(before);
      expect((reopened.$client.query("SELECT count(*) AS n FROM training_types").get() as { n: number }).n).toBe(6);
      reopened.$client.close();
    });
  });

  test("the database runs in WAL mode with foreign keys, triggers run for rows a REPLACE removes, and a busy timeout", () => {
    withDatabase((path) => {
      const db = openDatabase(path);
      expect(db.$client.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
      expect(db.$client.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
      expect(db.$client.query("PRAGMA recursive_triggers").get()).toEqual({ recursive_triggers: 1 });
      expect((db.$client.query("PRAGMA busy_timeout").get() as Record<string, number>)).toEqual({ timeout: 5000 });
      db.$client.close();
    });
  });

  // drizzle-kit knows nothing of triggers: a migration that rebuilds enrollments (as it does
  // to change a column) drops them, and the dashboards' counts would silently stop.
  test("after every migration the triggers that keep the dashboards' counts are on enrollments", () => {
    withDatabase((path) => {
      const db = openDatabase(path);
      migrate(db);
      const triggers = db.$client.query("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all();
      expect(triggers).toEqual(
        ["enrollment_counts_delete", "enrollment_counts_insert", "enrollment_counts_update", "trainee_counts_delete", "trainee_counts_insert", "trainee_counts_update"].map(
          (name) => ({ name, tbl_name: "enrollments" }),
        ),
      );
      db.$client.close();
    });
  });

  test("the embedded migrations are exactly the files drizzle-kit wrote", () => {
    const journal = JSON.parse(readFileSync(join(root, "migrations/meta/_journal.json"), "utf8")) as {
      entries: { tag: string; when: number }[];
    };
    expect(embeddedMigrations.map((m) => m.tag)).toEqual(journal.entries.map((e) => e.tag));
    for (const migration of embeddedMigrations) {
      expect(migration.sql).toBe(readFileSync(join(root, `migrations/${migration.tag}.sql`), "utf8"));
    }
  });

  test("a file that is not an SQLite database is refused and left untouched", () => {
    withDatabase((path) => {
      const content = "questo non è un database\n".repeat(10);
      Bun.write(path, content);
      expect(() => openDatabase(path)).toThrow("is not an SQLite database");
      expect(readFileSync(path, "utf8")).toBe(content);
    });
  });
});
