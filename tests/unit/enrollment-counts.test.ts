import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MigrationMeta } from "drizzle-orm/migrator";
import { openDatabase, type Db } from "../../src/db/client.ts";
import { migrate, migrationsMeta } from "../../src/db/migrate.ts";
import { agencyFigures, fundFigures, recountFigures } from "../../src/services/dashboard.ts";
import { systemClock } from "../../src/services/clock.ts";
import { generateDataset } from "../../src/services/demo-data.ts";
import { expectCountsKept, queries } from "../helpers/flows.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

/*
 * The dashboards read counts that triggers keep beside the enrollments. Each kind of write
 * an enrollment can take is made here in plain SQL, and the counts compared with a count of
 * the enrollments themselves after each; the writers' own tests (uploads, page edits,
 * master data, retention) compare them too.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ enrollments: 400 });
});
afterAll(() => t.close());

describe("the enrollments' counts", () => {
  test("the generated dataset's counts are the enrollments'", () => {
    expect(queries(t.db).one<{ n: number }>("SELECT count(*) AS n FROM enrollment_counts").n).toBeGreaterThan(10);
    expectCountsKept(t.db);
  });

  test("follow each column they count by, one row at a time and many at once", () => {
    const { one } = queries(t.db);
    const sqlite = t.db.$client;
    const mixed = one<{ id: number; project_id: number; class_id: number; participant_id: number }>(
      "SELECT id, project_id, class_id, participant_id FROM enrollments WHERE homogeneous = 0 AND fascia_debole IS NULL LIMIT 1",
    );
    const other = one<{ id: number; participant_id: number }>(
      "SELECT e.id, e.participant_id FROM enrollments e WHERE e.class_id <> ? AND e.agency_id = (SELECT agency_id FROM enrollments WHERE id = ?) LIMIT 1",
      mixed.class_id,
      mixed.id,
    );
    const person = sqlite
      .query("INSERT INTO participants (codice_fiscale, surname, name) VALUES ('ZZZZZZ99Z99Z999Z', 'Prova', 'Conta') RETURNING id")
      .get() as { id: number };
    const steps: [string, (string | number)[]][] = [
      ["UPDATE enrollments SET fascia_debole = 'DISAB' WHERE id = ?", [mixed.id]], // declared
      ["UPDATE enrollments SET fascia_debole = 'NO' WHERE id = ?", [mixed.id]], // declared otherwise
      ["UPDATE enrollments SET counts_as_placed = 1 WHERE id = ?", [mixed.id]], // counted as placed
      ["UPDATE enrollments SET fascia_debole = NULL WHERE id = ?", [mixed.id]], // undeclared again
      ["UPDATE enrollments SET homogeneous = 1 WHERE id = ?", [mixed.id]], // class made homogeneous
      ["UPDATE enrollments SET year = year + 1 WHERE id = ?", [mixed.id]], // another year
      ["UPDATE enrollments SET hire_date = '2019-12-01', revision = revision + 1 WHERE id = ?", [mixed.id]], // a column not counted
      ["UPDATE enrollments SET fascia_debole = 'GIOV' WHERE project_id = ? AND homogeneous = 0", [mixed.project_id]], // a whole project declared
      ["UPDATE enrollments SET counts_as_placed = 1 WHERE project_id = ?", [mixed.project_id]], // a whole project counted as placed
      // Enrollments of two classes passed to a new person, one at a time and then back (as a stand-in takes a person's place).
      ["UPDATE enrollments SET participant_id = ? WHERE id = ?", [person.id, mixed.id]],
      ["UPDATE enrollments SET participant_id = ? WHERE id = ?", [person.id, other.id]],
      ["UPDATE enrollments SET participant_id = ? WHERE id = ?", [other.participant_id, other.id]],
      ["UPDATE enrollments SET participant_id = ? WHERE participant_id = ?", [mixed.participant_id, person.id]],
      ["UPDATE enrollments SET agency_id = (SELECT max(id) FROM agencies) WHERE id = ?", [mixed.id]],
    ];
    for (const [statement, params] of steps) {
      sqlite.run(statement, params);
      expectCountsKept(t.db);
    }
    const inserted = sqlite
      .query(
        `INSERT INTO enrollments (class_id, participant_id, project_id, agency_id, year, homogeneous, fascia_debole, counts_as_placed)
         SELECT e.class_id, ?, e.project_id, e.agency_id, e.year, e.homogeneous, 'DISAB', 1
         FROM enrollments e WHERE e.id = ? RETURNING id`,
      )
      .get(person.id, mixed.id) as { id: number };
    expectCountsKept(t.db);
    // A REPLACE removes the row it replaces: its delete triggers run too.
    sqlite.run(
      `INSERT OR REPLACE INTO enrollments (class_id, participant_id, project_id, agency_id, year, homogeneous, fascia_debole, counts_as_placed)
       SELECT class_id, participant_id, project_id, agency_id, year, homogeneous, 'NO', 0 FROM enrollments WHERE id = ?`,
      [inserted.id],
    );
    expectCountsKept(t.db);
    sqlite.run("DELETE FROM enrollments WHERE participant_id = ?", [person.id]);
    expectCountsKept(t.db);
  });

  test("counted again from the enrollments by `placement recount`, which puts right only what differs", () => {
    const sqlite = t.db.$client;
    const recount = () => {
      const run = Bun.spawnSync(["bun", join(import.meta.dir, "../../src/main.ts"), "recount"], { env: { ...process.env, DATA_DIR: t.dir } });
      expect(run.exitCode).toBe(0);
      return run.stdout.toString();
    };
    expect(recount()).toContain("the kept counts match the enrollments");
    // One row wrong, one missing, one left over.
    const row = queries(t.db).one<{ year: number; agency_id: number; project_id: number; homogeneous: number; fascia: string }>(
      "SELECT year, agency_id, project_id, homogeneous, fascia FROM enrollment_counts WHERE enrollments > 0 LIMIT 1",
    );
    sqlite.run(
      "UPDATE enrollment_counts SET enrollments = enrollments + 5 WHERE year = ? AND agency_id = ? AND project_id = ? AND homogeneous = ? AND fascia = ?",
      [row.year, row.agency_id, row.project_id, row.homogeneous, row.fascia],
    );
    sqlite.run("DELETE FROM trainee_counts WHERE agency_id = (SELECT min(agency_id) FROM trainee_counts)");
    sqlite.run("INSERT INTO trainee_counts (year, agency_id, trainees) VALUES (1999, 1, 7)");
    // Placed without enrollments, and fewer than none: the fund's table would add them in.
    sqlite.run("INSERT INTO enrollment_counts (year, agency_id, project_id, homogeneous, fascia, enrollments, placed) VALUES (?, ?, ?, 0, 'ZZZ', 0, 3)", [
      row.year,
      row.agency_id,
      row.project_id,
    ]);
    sqlite.run("INSERT INTO enrollment_counts (year, agency_id, project_id, homogeneous, fascia, enrollments, placed) VALUES (?, ?, ?, 0, 'YYY', -2, 0)", [
      row.year,
      row.agency_id,
      row.project_id,
    ]);
    expect(recount()).toContain("5 kept count rows differed from the enrollments and were counted again");
    expectCountsKept(t.db);
    expect(recountFigures(t.db)).toBe(0);
  });

  test("the dashboards' figures equal those counted from the enrollments", () => {
    const { one, all } = queries(t.db);
    const agency = one<{ id: number }>("SELECT id FROM agencies ORDER BY id LIMIT 1");
    const figures = agencyFigures(t.db, agency.id, 2019, null);
    const counted = one<{ n: number; placed: number; undeclared: number }>(
      `SELECT count(*) AS n, sum(counts_as_placed) AS placed, sum(homogeneous = 0 AND fascia_debole IS NULL) AS undeclared
       FROM enrollments WHERE agency_id = ? AND year = 2019`,
      agency.id,
    );
    expect([figures.enrollments, figures.placed, figures.undeclared]).toEqual([counted.n, counted.placed, counted.undeclared]);
    const byAgency = all<{ id: number; n: number; declared: number }>(
      "SELECT agency_id AS id, count(*) AS n, count(fascia_debole) AS declared FROM enrollments WHERE year = 2019 GROUP BY agency_id",
    );
    const rows = fundFigures(t.db, 2019);
    for (const expected of byAgency) expect(rows.find((r) => r.id === expected.id)).toMatchObject({ enrollments: expected.n, declared: expected.declared });
  });
});

describe("the migration that brings the counts", () => {
  test("counts the enrollments already there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "placement-counts-"));
    try {
      const db: Db = openDatabase(join(dir, "placement.db"));
      const all = migrationsMeta();
      const upTo = (migrations: MigrationMeta[]) =>
        (db as unknown as { dialect: { migrate(m: MigrationMeta[], s: unknown, c: object): void }; session: unknown }).dialect.migrate(
          migrations,
          (db as unknown as { session: unknown }).session,
          {},
        );
      const index = all.findIndex((m) => m.sql.join("").includes("CREATE TABLE `enrollment_counts`"));
      expect(index).toBeGreaterThan(0);
      upTo(all.slice(0, index));
      await generateDataset(db, systemClock, { agencies: 2, enrollments: 300, seed: 3 });
      db.$client.run("UPDATE enrollments SET fascia_debole = 'NO', counts_as_placed = 1 WHERE id % 3 = 0");
      migrate(db);
      expectCountsKept(db);
      db.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
