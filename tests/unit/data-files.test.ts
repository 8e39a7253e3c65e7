import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expireMailFiles } from "../../src/mail/transport.ts";
import { dataFile, relativizeFilePaths, sweepOrphanFiles } from "../../src/services/data-files.ts";
import { expireOldUploadFiles } from "../../src/services/uploads.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let userId: number;
let agencyId: number;

beforeAll(async () => {
  t = await createTestApp();
  userId = (t.db.$client.query("SELECT id FROM users LIMIT 1").get() as { id: number }).id;
  agencyId = (t.db.$client.query("SELECT id FROM agencies LIMIT 1").get() as { id: number }).id;
});
afterAll(() => t.close());

const run = (sql: string, ...params: (string | number | null)[]) => t.db.$client.query(sql).run(...params);
const value = (sql: string, ...params: (string | number)[]) => Object.values(t.db.$client.query(sql).get(...params) as object)[0];

function upload(table: "import_jobs" | "master_data_jobs", filePath: string, outcomePath: string | null, finishedAt: number | null = null): number {
  const agency = table === "import_jobs" ? ", agency_id, year" : "";
  const values = table === "import_jobs" ? `, ${agencyId}, 2019` : "";
  return Number(
    run(
      `INSERT INTO ${table} (user_id, file_name, file_path, file_sha256, file_format, file_size, status, outcome_path, finished_at${agency})
       VALUES (?, 'x.xlsx', ?, 'h', 'xlsx', 1, ?, ?, ?${values})`,
      userId,
      filePath,
      finishedAt === null ? "queued" : "done",
      outcomePath,
      finishedAt,
    ).lastInsertRowid,
  );
}

describe("file paths relative to DATA_DIR", () => {
  test("paths stored absolute by an earlier version, wherever its data folder was, become relative once", () => {
    const a = upload("import_jobs", "/var/lib/placement/uploads/a.xlsx", "/var/lib/placement/outcomes/1-1-esito.xlsx");
    const b = upload("master_data_jobs", "/srv/old place/uploads/b.csv", null);
    const c = upload("import_jobs", "uploads/c.xlsx", null);
    const exportId = Number(
      run(
        "INSERT INTO export_jobs (agency_id, user_id, year, training_types, format, status, file_path) VALUES (?, ?, 2019, '[]', 'xlsx', 'ready', ?)",
        agencyId,
        userId,
        "/tmp/elsewhere/data/exports/9-u.xlsx",
      ).lastInsertRowid,
    );
    expect(relativizeFilePaths(t.db)).toBe(4);
    expect(value("SELECT file_path FROM import_jobs WHERE id = ?", a)).toBe("uploads/a.xlsx");
    expect(value("SELECT outcome_path FROM import_jobs WHERE id = ?", a)).toBe("outcomes/1-1-esito.xlsx");
    expect(value("SELECT file_path FROM master_data_jobs WHERE id = ?", b)).toBe("uploads/b.csv");
    expect(value("SELECT file_path FROM import_jobs WHERE id = ?", c)).toBe("uploads/c.xlsx");
    expect(value("SELECT file_path FROM export_jobs WHERE id = ?", exportId)).toBe("exports/9-u.xlsx");
    expect(relativizeFilePaths(t.db)).toBe(0);
    expect(dataFile(t.deps.config, "uploads/a.xlsx")).toBe(join(t.dir, "uploads/a.xlsx"));
  });

  test("a stored name that would leave the data folder is never opened", () => {
    for (const name of ["../placement.db", "/etc/passwd", "uploads/../../x", "placement.db", "backups/x.db"]) {
      expect(() => dataFile(t.deps.config, name)).toThrow("not a file of the data folder");
    }
  });
});

describe("files no row names", () => {
  test("are removed at start: a part written by a killed attempt, an upload cut short, an attempt's old outcome", () => {
    const keep = ["uploads/kept.xlsx", "outcomes/7-2-esito.xlsx", "exports/3-kept.xlsx"];
    const orphans = ["exports/3-1.part", "uploads/incoming-0f2c", "outcomes/7-1-esito.xlsx", "outcomes/7-2-esito.xlsx.part"];
    for (const folder of ["uploads", "outcomes", "exports"]) mkdirSync(join(t.dir, folder), { recursive: true });
    for (const name of [...keep, ...orphans]) writeFileSync(join(t.dir, name), "x");
    upload("import_jobs", "uploads/kept.xlsx", "outcomes/7-2-esito.xlsx");
    run("INSERT INTO export_jobs (agency_id, user_id, year, training_types, format, status, file_path) VALUES (?, ?, 2019, '[]', 'xlsx', 'ready', ?)", agencyId, userId, "exports/3-kept.xlsx");
    expect(sweepOrphanFiles(t.db, t.deps.config).sort()).toEqual([...orphans].sort());
    for (const name of keep) expect(existsSync(join(t.dir, name))).toBe(true);
    for (const name of orphans) expect(existsSync(join(t.dir, name))).toBe(false);
  });
});

describe("retention covers every file with personal data", () => {
  test("a master-data load's file and outcome go with the retention period, as an upload's do", () => {
    mkdirSync(join(t.dir, "uploads"), { recursive: true });
    mkdirSync(join(t.dir, "outcomes"), { recursive: true });
    writeFileSync(join(t.dir, "uploads/anagrafiche.xlsx"), "x");
    writeFileSync(join(t.dir, "outcomes/anagrafiche-1-1-esito.xlsx"), "x");
    const old = t.clock.now().getTime() - 40 * 86_400_000;
    const id = upload("master_data_jobs", "uploads/anagrafiche.xlsx", "outcomes/anagrafiche-1-1-esito.xlsx", old);
    expect(expireOldUploadFiles(t.db, t.clock, t.deps.config)).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(t.dir, "uploads/anagrafiche.xlsx"))).toBe(false);
    expect(existsSync(join(t.dir, "outcomes/anagrafiche-1-1-esito.xlsx"))).toBe(false);
    expect(value("SELECT outcome_path FROM master_data_jobs WHERE id = ?", id)).toBeNull();
  });

  test("messages written as files go after the retention period too", () => {
    const dir = join(t.dir, "mail");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "1.eml"), "old");
    writeFileSync(join(dir, "2.eml"), "new");
    const old = (t.clock.now().getTime() - 40 * 86_400_000) / 1000;
    utimesSync(join(dir, "1.eml"), old, old);
    expect(expireMailFiles(t.deps.config, t.clock.now())).toBe(1);
    expect(readdirSync(dir)).toEqual(["2.eml"]);
  });
});
