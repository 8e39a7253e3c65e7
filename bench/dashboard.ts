// bun run bench:dashboard — server time of the agency and fund dashboards against the bare
// SQL aggregate each cannot avoid, on a fund after ten years: 80 agencies, 3,000,000
// enrollments over ten campaign years.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/app.tsx";
import { createDeps } from "../src/deps.ts";
import { resolveKeys } from "../src/services/sealed-files.ts";
import { dataPaths, loadConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { silentLogger } from "../src/log.ts";
import { systemClock } from "../src/services/clock.ts";
import { DEMO_FUND_OPERATOR_EMAIL, generateDataset } from "../src/services/demo-data.ts";
import { currentCode } from "../src/services/two-factor.ts";
import { signIn } from "../tests/helpers/http.ts";
import { percentile, table } from "./lib.ts";

const AGENCIES = Number(process.env.BENCH_AGENCIES ?? 80);
const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 3_000_000);
const YEARS = Number(process.env.BENCH_YEARS ?? 10);
const RUNS = 200;

async function timed(run: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < 20; i++) await run();
  const durations: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    durations.push(performance.now() - started);
  }
  return durations;
}

/** Makes the fund's ten years in a data folder; run in a process of its own (below). */
async function generate(dataDir: string) {
  const db = openDatabase(dataPaths(loadConfig({ DATA_DIR: dataDir })).database);
  migrate(db);
  console.log(`generating ${AGENCIES} agencies and ${ENROLLMENTS} enrollments over ${YEARS} campaign years…`);
  await generateDataset(db, systemClock, { agencies: AGENCIES, enrollments: ENROLLMENTS, year: 2019, years: YEARS });
  db.$client.exec("ANALYZE");
  db.$client.close();
}

if (process.env.BENCH_GENERATE_INTO) {
  await generate(process.env.BENCH_GENERATE_INTO);
  process.exit(0);
}

const dataDir = mkdtempSync(join(tmpdir(), "placement-bench-dashboard-"));
try {
  // The dataset is made by another process: the program measured opens a database at rest, as
  // after a restart, without the generator's millions of objects in its heap.
  const generator = Bun.spawnSync([process.execPath, import.meta.path], {
    env: { ...process.env, BENCH_GENERATE_INTO: dataDir },
    stdout: "inherit",
    stderr: "inherit",
  });
  if (generator.exitCode !== 0) throw new Error(`generating the dataset failed (exit ${generator.exitCode})`);
  const config = loadConfig({ DATA_DIR: dataDir });
  const db = openDatabase(dataPaths(config).database);
  const agency = db.$client
    .query("SELECT agency_id AS id, count(*) AS n FROM enrollments WHERE year = 2019 GROUP BY agency_id ORDER BY n DESC LIMIT 1")
    .get() as { id: number; n: number };
  const rpa = (db.$client.query("SELECT email FROM users WHERE agency_id = ? AND role = 'rpa'").get(agency.id) as { email: string }).email;

  const app = createApp(createDeps({ db, config, log: silentLogger, keys: resolveKeys(config, false).keys }));
  // Signing in goes through a real server; the timings below call the app directly: server time only.
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  const base = `http://127.0.0.1:${server.port}`;
  const agencyCookie = await signIn(base, rpa);
  // A fund outside demo mode: its operator signs in with a second factor.
  const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
  db.$client.run("UPDATE users SET totp_secret = ? WHERE email = ?", [secret, DEMO_FUND_OPERATOR_EMAIL]);
  const fundCookie = await signIn(base, DEMO_FUND_OPERATOR_EMAIL, undefined, () => currentCode(secret, new Date()));
  server.stop(true);

  const page = (path: string, cookie: string) => async () => {
    const response = await app.request(path, { headers: { Cookie: cookie } });
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
    await response.text();
  };
  const bareAgency = db.$client.query(
    "SELECT fascia_debole, count(*) FROM enrollments WHERE agency_id = ? AND year = 2019 GROUP BY fascia_debole",
  );
  const bareFund = db.$client.query("SELECT agency_id, count(*) FROM enrollments WHERE year = 2019 GROUP BY agency_id");

  const agencyBare = await timed(() => bareAgency.all(agency.id));
  const agencyPage = await timed(page("/placement", agencyCookie));
  const fundBare = await timed(() => bareFund.all());
  const fundPage = await timed(page("/fondo", fundCookie));
  db.$client.close();

  const p = (values: number[], q: number) => percentile(values, q).toFixed(2);
  const agencyRatio = percentile(agencyPage, 50) / percentile(agencyBare, 50);
  const fundRatio = percentile(fundPage, 50) / percentile(fundBare, 50);
  console.log(`\n${AGENCIES} agencies, ${ENROLLMENTS} enrollments over ${YEARS} years; largest agency ${agency.n} enrollments; ${RUNS} runs each\n`);
  console.log(
    table(
      ["", "p50 ms", "p99 ms", "p50 ratio (target ≤ 2)"],
      [
        ["bare: GROUP BY fascia_debole of the agency", p(agencyBare, 50), p(agencyBare, 99), ""],
        ["agency dashboard GET /placement", p(agencyPage, 50), p(agencyPage, 99), agencyRatio.toFixed(2)],
        ["bare: GROUP BY agency over all enrollments", p(fundBare, 50), p(fundBare, 99), ""],
        ["fund dashboard GET /fondo", p(fundPage, 50), p(fundPage, 99), fundRatio.toFixed(2)],
      ],
    ),
  );
  console.log(`bench:dashboard agency_ratio=${agencyRatio.toFixed(2)} fund_ratio=${fundRatio.toFixed(2)}`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
