// The built executable, for the tests that run it as a sysadmin would: started, stopped, killed.
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unusedPort } from "./ports.ts";

const root = join(import.meta.dir, "../..");
let built: string | undefined;

/** Builds dist-like `placement` once per test process. */
export function executable(): string {
  if (!built) {
    const dir = mkdtempSync(join(tmpdir(), "placement-build-"));
    const build = Bun.spawnSync(["bun", "src/build.ts", join(dir, "placement")], { cwd: root });
    if (build.exitCode !== 0) throw new Error(build.stderr.toString());
    built = join(dir, "placement");
  }
  return built;
}

/** A copy of the executable alone in an empty folder. */
export function lonelyCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "placement-exe-"));
  copyFileSync(executable(), join(dir, "placement"));
  Bun.spawnSync(["chmod", "+x", join(dir, "placement")]);
  return dir;
}

/** Runs a command of the executable to its end. */
export function run(dir: string, args: string[], env: Record<string, string> = {}) {
  const result = Bun.spawnSync([join(dir, "placement"), ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? "", ...env } });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

export async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`${url} never answered`);
}

export type Server = { base: string; pid: number; process: ReturnType<typeof Bun.spawn>; log: () => Promise<string> };

/** Starts `placement serve` of the copy in `dir` and waits until it answers. */
export async function startServer(dir: string, env: Record<string, string> = {}, args: string[] = []): Promise<Server> {
  const port = unusedPort();
  const child = Bun.spawn([join(dir, "placement"), "serve", "--port", String(port), ...args], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? "", ...env },
    stderr: "pipe",
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/healthz`);
  return { base, pid: child.pid, process: child, log: () => new Response(child.stderr as ReadableStream).text() };
}

/** kill -9: the process gets no chance to tidy up. */
export async function killHard(server: Server): Promise<void> {
  server.process.kill("SIGKILL");
  await server.process.exited;
}

/** Stops the server as systemd does, and waits for it. */
export async function stopServer(server: Server): Promise<number> {
  server.process.kill("SIGTERM");
  return server.process.exited;
}
