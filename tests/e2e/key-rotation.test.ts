import { expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupDatabase, backupPath } from "../../src/services/backup.ts";
import { namedFiles } from "../../src/services/data-files.ts";
import { keyOf, keyRingOf, newKeyText, sealedKeyId, unsealWhole } from "../../src/services/sealed-files.ts";
import { bookAndUploadBack, signedIn } from "../helpers/flows.ts";
import { createTestApp, fixtures } from "../helpers/test-app.ts";

setDefaultTimeout(120_000);

const MAIN = join(import.meta.dir, "../../src/main.ts");

test("a key rotation killed with -9 leaves every file whole under one of the two keys; run again, all are under the new one", async () => {
  const t = await createTestApp();
  const dir = t.dir;
  try {
    const clerk = await signedIn(t, fixtures(t.db).rpaA, { page: "/placement/import-massivo" });
    await bookAndUploadBack(t, clerk);
    const { drainUploads } = await import("../../src/jobs/uploads.ts");
    await drainUploads(t.deps);
    // Enough backups that the rotation is still at work when it is killed.
    for (let i = 0; i < 60; i++) await backupDatabase(t.db, backupPath(t.deps.config, new Date(Date.UTC(2020, 0, 1, 0, i)), "placement"), t.deps.keys[0]!);
    const files = [...namedFiles(t.db, t.deps.config), ...Array.from({ length: 60 }, (_, i) => backupPath(t.deps.config, new Date(Date.UTC(2020, 0, 1, 0, i)), "placement"))];
    const plain = await Promise.all(files.map((f) => unsealWhole(f, t.deps.keys)));
    t.deps.workers.close();
    t.db.$client.close();

    const oldKey = readFileSync(join(dir, "placement.key"), "utf8").trim();
    const newKey = newKeyText();
    const ring = keyRingOf(`${newKey}\n${oldKey}`);
    const keyFile = join(dir, "..", `${dir.split("/").at(-1)}-keys`);
    writeFileSync(keyFile, `${newKey}\n${oldKey}\n`);
    const env = { ...process.env, DATA_DIR: dir, DATA_KEY_FILE: keyFile };

    const rotation = Bun.spawn(["bun", MAIN, "key", "rotate"], { env, stdout: "pipe", stderr: "pipe" });
    const newId = keyOf(newKey).id;
    const ids = () => files.map((f) => sealedKeyId(f));
    while (!ids().includes(newId) && rotation.exitCode === null) await Bun.sleep(5);
    rotation.kill("SIGKILL");
    await rotation.exited;
    const atKill = ids();
    console.log(`at the kill: ${atKill.filter((id) => id === newId).length} of ${files.length} files under the new key`);
    expect(atKill.every((id) => id === newId || id === keyOf(oldKey).id)).toBe(true);
    for (const [i, f] of files.entries()) expect(Buffer.from(await unsealWhole(f, ring)).equals(Buffer.from(plain[i]!))).toBe(true);

    const again = Bun.spawnSync(["bun", MAIN, "key", "rotate"], { env });
    expect(again.exitCode).toBe(0);
    expect(again.stdout.toString()).toContain(`files sealed again with key ${newId}`);
    expect(ids().every((id) => id === newId)).toBe(true);
    for (const [i, f] of files.entries()) expect(Buffer.from(await unsealWhole(f, [keyOf(newKey)])).equals(Buffer.from(plain[i]!))).toBe(true);
    // The older key is retired: a start with it alone, which could read none of the files, is refused.
    const oldOnly = Bun.spawnSync(["bun", MAIN, "migrate"], { env: { ...process.env, DATA_DIR: dir, DATA_KEY: oldKey } });
    expect(oldOnly.exitCode).toBe(1);
    expect(oldOnly.stderr.toString()).toContain("none of the data keys given is one this database's files were sealed with");
    rmSync(keyFile, { force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
