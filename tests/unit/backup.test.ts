import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/db/client.ts";
import { migrationsMeta } from "../../src/db/migrate.ts";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { backupDatabase, backupPath, pruneBackups, restoreDatabase, sweepBackupParts } from "../../src/services/backup.ts";
import { holdInstanceLock } from "../../src/services/instance.ts";
import { keyOf, keyRingOf, newKeyText, unsealWhole } from "../../src/services/sealed-files.ts";
import { bookAndUploadBack, rowsInOrder, signedIn } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// Imports start a worker and a child process; `bun src/main.ts` starts another bun.
setDefaultTimeout(60_000);

let t: TestApp;
const scratch = mkdtempSync(join(tmpdir(), "placement-backup-"));

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => {
  t.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Row count and a SHA-256 of every row, per table, read straight from a database file. */
function fingerprint(path: string): Record<string, { rows: number; sha256: string }> {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
    return Object.fromEntries(
      tables.map(({ name }) => {
        const rows = rowsInOrder(db, name);
        return [name, { rows: rows.length, sha256: new Bun.CryptoHasher("sha256").update(JSON.stringify(rows)).digest("hex") }];
      }),
    );
  } finally {
    db.close();
  }
}

/** A plain copy of a sealed backup, to look into. */
async function plain(path: string): Promise<string> {
  const out = `${path}.plain-${crypto.randomUUID()}`;
  writeFileSync(out, await unsealWhole(path, t.deps.keys));
  return out;
}

const refusal = (work: Promise<unknown>) => work.then(() => "", (error: Error) => error.message);

describe("backups", () => {
  test("a backup taken while requests are served and an import runs restores to a consistent database", async () => {
    const f = fixtures(t.db);
    const client = await signedIn(t, f.rpaA, { page: "/placement/import-massivo" });
    await bookAndUploadBack(t, client);

    const importing = drainUploads(t.deps);
    const serving = Promise.all(Array.from({ length: 20 }, () => client.request("/placement")));
    const during = backupDatabase(t.db, join(scratch, "during.db"), t.deps.keys[0]!);
    await Promise.all([importing, serving, during]);

    // Restored into a fresh folder, the copy is exactly the backup, and the import is in it whole or not at all.
    const fresh = join(scratch, "fresh");
    await restoreDatabase({ DATA_DIR: fresh }, t.clock, (await during).path, t.deps.keys);
    const restored = join(fresh, "placement.db");
    expect(fingerprint(restored)).toEqual(fingerprint(await plain((await during).path)));
    const check = new Database(restored, { readonly: true });
    const job = check.query("SELECT id, status, rows_total FROM import_jobs ORDER BY id DESC LIMIT 1").get() as { id: number; status: string; rows_total: number | null };
    const outcomes = (check.query("SELECT count(*) AS n FROM import_row_outcomes WHERE import_job_id = ?").get(job.id) as { n: number }).n;
    expect((check.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
    check.close();
    if (job.status === "done") expect(outcomes).toBe(job.rows_total!);
    else expect(outcomes).toBe(0);

    // Once everything is still, a backup equals the live database table by table.
    const after = await backupDatabase(t.db, join(scratch, "after.db"), t.deps.keys[0]!);
    t.db.$client.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    expect(fingerprint(await plain(after.path))).toEqual(fingerprint(join(t.dir, "placement.db")));
    // On disk the backup is sealed: not a database without the key.
    expect(readFileSync(after.path).subarray(0, 8).toString()).toBe("PLCSEAL1");
  });

  test("restore refuses while the program runs, and refuses a file that is not a backup, altered, or sealed with another key", async () => {
    const dir = join(scratch, "running");
    const keys = t.deps.keys;
    const copy = await backupDatabase(t.db, join(scratch, "for-restore.db"), keys[0]!);
    await restoreDatabase({ DATA_DIR: dir }, t.clock, copy.path, keys);
    // The running program holds the data folder's lock.
    const running = holdInstanceLock({ DATA_DIR: dir })!;
    expect(await refusal(restoreDatabase({ DATA_DIR: dir }, t.clock, copy.path, keys))).toContain("the program is running");
    running.release();

    const before = fingerprint(join(dir, "placement.db"));
    const junk = join(scratch, "junk.db");
    writeFileSync(junk, "not a database");
    expect(await refusal(restoreDatabase({ DATA_DIR: dir }, t.clock, junk, keys))).toContain("cannot be read as a sealed Placement backup");
    const altered = join(scratch, "altered.db");
    const raw = readFileSync(copy.path);
    raw[raw.length - 100]! ^= 1;
    writeFileSync(altered, raw);
    expect(await refusal(restoreDatabase({ DATA_DIR: dir }, t.clock, altered, keys))).toContain("nothing was changed");
    expect(await refusal(restoreDatabase({ DATA_DIR: dir }, t.clock, copy.path, [keyOf(newKeyText())]))).toContain("not among the data keys given");
    expect(fingerprint(join(dir, "placement.db"))).toEqual(before);

    // A second restore keeps the database it replaces, sealed too.
    await restoreDatabase({ DATA_DIR: dir }, t.clock, copy.path, keys);
    const kept = readdirSync(dir).find((name) => name.startsWith("placement.db.before-restore-"))!;
    expect(fingerprint(await plain(join(dir, kept)))).toEqual(before);
  });

  test("a restore records the keys that opened it: a backup from before a rotation starts with the new key", async () => {
    const copy = await backupDatabase(t.db, join(scratch, "before-rotation.db"), t.deps.keys[0]!);
    const newKey = keyOf(newKeyText());
    const dir = join(scratch, "rotated");
    await restoreDatabase({ DATA_DIR: dir }, t.clock, copy.path, [newKey, ...t.deps.keys]);
    const restored = new Database(join(dir, "placement.db"), { readonly: true });
    const ids = (restored.query("SELECT id FROM data_keys").all() as { id: string }[]).map((k) => k.id);
    restored.close();
    expect(ids).toContain(newKey.id);
  });

  test("what a stopped backup, restore or rotation left is swept at start; a kept database is not", () => {
    const dir = join(scratch, "left-behind");
    mkdirSync(join(dir, "backups"), { recursive: true });
    const left = ["backups/placement-20200101-000000.db.part", "backups/placement-20200101-000000.db.rotating", "placement.db.restoring", "placement.db.before-restore-20200101-000000.sealing"];
    for (const name of [...left, "placement.db.before-restore-20200101-000000", "backups/placement-20200102-000000.db"]) writeFileSync(join(dir, name), "x");
    expect(sweepBackupParts({ DATA_DIR: dir }).map((p) => p.slice(dir.length + 1)).sort()).toEqual(left.sort());
    expect(readdirSync(dir).sort()).toEqual(["backups", "placement.db.before-restore-20200101-000000"]);
    expect(readdirSync(join(dir, "backups"))).toEqual(["placement-20200102-000000.db"]);
  });

  test("scheduled backups, and those taken before migrations, keep only the newest ones of each kind", async () => {
    const config = { DATA_DIR: join(scratch, "pruned") };
    const start = Date.parse("2020-09-01T02:30:00Z");
    for (let day = 0; day < 5; day++) await backupDatabase(t.db, backupPath(config, new Date(start + day * 86_400_000), "placement"), t.deps.keys[0]!);
    for (let day = 0; day < 4; day++) await backupDatabase(t.db, backupPath(config, new Date(start + day * 86_400_000), "pre-migration"), t.deps.keys[0]!);
    const removed = pruneBackups(config, 3);
    expect(removed).toEqual(["placement-20200902-023000.db", "placement-20200901-023000.db", "pre-migration-20200901-023000.db"]);
    expect(readdirSync(join(config.DATA_DIR, "backups")).sort()).toEqual([
      "placement-20200903-023000.db",
      "placement-20200904-023000.db",
      "placement-20200905-023000.db",
      "pre-migration-20200902-023000.db",
      "pre-migration-20200903-023000.db",
      "pre-migration-20200904-023000.db",
    ]);
  });

  test("a copy is taken automatically before migrations run on an existing database", async () => {
    const dir = join(scratch, "old-version");
    const path = join(dir, "placement.db");
    Bun.spawnSync(["mkdir", "-p", dir]);
    // A database left by an older version: every migration but the last.
    const old = openDatabase(path);
    const internals = old as unknown as { dialect: { migrate(m: unknown, s: unknown, c: object): void }; session: unknown };
    internals.dialect.migrate(migrationsMeta().slice(0, -1), internals.session, {});
    old.$client.close();

    // An older version's database has no data key: the program refuses it until one is given.
    const keyless = Bun.spawnSync(["bun", join(import.meta.dir, "../../src/main.ts"), "migrate"], { env: { ...process.env, DATA_DIR: dir } });
    expect(keyless.exitCode).toBe(1);
    expect(keyless.stderr.toString()).toContain("needs its data key");
    expect(existsSync(join(dir, "backups"))).toBe(false);
    const key = newKeyText();
    const run = Bun.spawnSync(["bun", join(import.meta.dir, "../../src/main.ts"), "migrate"], { env: { ...process.env, DATA_DIR: dir, DATA_KEY: key } });
    expect(run.exitCode).toBe(0);
    const backups = readdirSync(join(dir, "backups"));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^pre-migration-\d{8}-\d{6}\.db$/);
    const keys = keyRingOf(key);
    const plainCopy = join(scratch, "pre-migration-plain.db");
    writeFileSync(plainCopy, await unsealWhole(join(dir, "backups", backups[0]!), keys));
    const copy = new Database(plainCopy, { readonly: true });
    const applied = (copy.query("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number }).n;
    copy.close();
    expect(applied).toBe(migrationsMeta().length - 1);

    // Nothing pending: no further copy.
    Bun.spawnSync(["bun", join(import.meta.dir, "../../src/main.ts"), "migrate"], { env: { ...process.env, DATA_DIR: dir, DATA_KEY: key } });
    expect(readdirSync(join(dir, "backups"))).toHaveLength(1);
    expect(existsSync(path)).toBe(true);
  });
});
