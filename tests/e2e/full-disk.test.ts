/*
 * A full disk under DATA_DIR: a small tmpfs mounted for the test, where the machine lets
 * this user mount one. Every write is answered with a sentence, /readyz says why it is not
 * ready, nothing is left half written, and everything works again once there is room.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STORAGE_FULL_MESSAGE } from "../../src/services/storage.ts";
import { keyOf, newKeyText, resealInPlace, sealedKeyId, sealInPlace, unsealWhole, writeSealed } from "../../src/services/sealed-files.ts";
import { bookAndDownload, openEdit, saveEdit, signedIn, tables, upload } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp, type TestClient } from "../helpers/test-app.ts";

setDefaultTimeout(60_000);

const mountPoint = mkdtempSync(join(tmpdir(), "placement-full-disk-"));
const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mountPoint]);
const mounted = mount.exitCode === 0;
if (!mounted) {
  console.warn(`full-disk tests skipped: this machine does not let this user mount a tmpfs (${mount.stderr.toString().trim() || `exit ${mount.exitCode}`})`);
}

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let clerk: TestClient;
let exported: Uint8Array<ArrayBuffer>;
const filler = join(mountPoint, "filler");

/** Writes a file until the disk has no room left. */
function fillDisk(): void {
  const fd = openSync(filler, "w");
  const block = new Uint8Array(256 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  if (!mounted) return;
  t = await createTestApp({ dir: mountPoint, env: { DISK_MIN_FREE_MB: "1" } });
  f = fixtures(t.db);
  clerk = await signedIn(t, f.rpaA);
  exported = await bookAndDownload(t, clerk);
  // With an empty write-ahead log, the next write must grow a file: there is no room for it.
  t.db.$client.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  fillDisk();
});

afterAll(() => {
  if (mounted) {
    t.db.$client.close();
    // Lazily: the file system goes once the last handle on it is closed.
    Bun.spawnSync(["umount", "-l", mountPoint]);
  }
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!mounted)("a full disk", () => {
  test("every write answers a sentence, /readyz says why, nothing is half written; with room again all works, no restart", async () => {
    const { one } = tables(t);
    const before = { jobs: one<{ n: number }>("SELECT (SELECT count(*) FROM import_jobs) + (SELECT count(*) FROM export_jobs) AS n").n };
    const ready = await t.app.request("/readyz");
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain("low disk space");

    const enrollment = one<{ id: number; fascia_debole: string | null }>(
      "SELECT e.id, e.fascia_debole FROM enrollments e WHERE e.agency_id = ? AND e.homogeneous = 0 ORDER BY e.id LIMIT 1",
      f.agencyA.id,
    );
    const attempts = {
      booking: () =>
        clerk.request("/placement/prenotazioni", {
          method: "POST",
          body: new URLSearchParams({ _csrf: clerk.csrfToken, anno: "2019", formato: "xlsx", tipologie: "BASE" }),
          headers: { "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true" },
        }),
      upload: async () => {
        const answer = await upload(clerk, exported);
        return new Response(answer.html, { status: answer.status });
      },
      edit: async () => saveEdit(t, clerk, enrollment.id, { ...(await openEdit(t, clerk, enrollment.id)), fascia: enrollment.fascia_debole === "GIOV" ? "NO" : "GIOV" }),
      signIn: async () => {
        const other = t.client("192.0.2.77");
        await other.get("/login");
        return other.post("/login", { email: f.referentA, password: "demo1234" });
      },
    };
    const answers: Record<string, { status: number; text: string }> = {};
    for (const [name, attempt] of Object.entries(attempts)) {
      const response = await attempt();
      answers[name] = { status: response.status, text: await response.text() };
    }
    for (const [name, answer] of Object.entries(answers)) {
      expect({ name, status: answer.status }).toEqual({ name, status: 503 });
      expect(answer.text).toContain(STORAGE_FULL_MESSAGE.slice(0, 60));
    }
    expect(one<{ n: number }>("SELECT (SELECT count(*) FROM import_jobs) + (SELECT count(*) FROM export_jobs) AS n").n).toBe(before.jobs);
    expect(one<{ fascia_debole: string | null }>("SELECT fascia_debole FROM enrollments WHERE id = ?", enrollment.id).fascia_debole).toBe(
      enrollment.fascia_debole,
    );
    expect(readdirSync(join(mountPoint, "uploads")).filter((n) => n.startsWith("incoming-"))).toEqual([]);

    rmSync(filler);
    expect((await t.app.request("/readyz")).status).toBe(200);
    expect((await attempts.booking()).status).toBe(200);
    expect((await attempts.upload()).status).toBe(200);
    expect((await attempts.edit()).status).toBe(200);
    expect((await attempts.signIn()).status).toBe(303);
    expect(one<{ integrity_check: string }>("PRAGMA integrity_check").integrity_check).toBe("ok");
  });

  test("sealing a file, or sealing it again with a new key, fails on a full disk and leaves the file whole", async () => {
    const plain = join(mountPoint, "uploads", "piano.xlsx");
    const sealed = join(mountPoint, "uploads", "sigillato.xlsx");
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 251);
    writeFileSync(plain, bytes);
    const oldKey = keyOf(newKeyText());
    writeSealed(sealed, oldKey, bytes);
    fillDisk();
    try {
      expect(await sealInPlace(plain, oldKey).then(() => "sealed", (error: NodeJS.ErrnoException) => error.code)).toBe("ENOSPC");
      expect(Buffer.from(readFileSync(plain)).equals(Buffer.from(bytes))).toBe(true);
      expect(await resealInPlace(sealed, [keyOf(newKeyText()), oldKey]).then(() => "sealed", (error: NodeJS.ErrnoException) => error.code)).toBe("ENOSPC");
      expect(sealedKeyId(sealed)).toBe(oldKey.id);
      expect(Buffer.from(await unsealWhole(sealed, [oldKey])).equals(Buffer.from(bytes))).toBe(true);
      expect(readdirSync(join(mountPoint, "uploads")).filter((n) => n.endsWith(".sealing") || n.endsWith(".rotating"))).toEqual([]);
    } finally {
      rmSync(filler);
      rmSync(plain);
      rmSync(sealed);
    }
  });
});
