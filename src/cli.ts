import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createApp } from "./app.tsx";
import { ConfigError, dataPaths, loadConfig, parseFlags, settingsHelp, unknownFlags, type Config } from "./config.ts";
import { DatabaseFileError, openDatabase, type Db } from "./db/client.ts";
import { migrate, pendingMigrations } from "./db/migrate.ts";
import { embeddedMigrations } from "./db/migrations.gen.ts";
import { eq } from "drizzle-orm";
import { ROLES, users, type Role } from "./db/schema.ts";
import { createDeps } from "./deps.ts";
import { startScheduler } from "./jobs/registry.ts";
import { createLogger, type Logger } from "./log.ts";
import { createUser, normalizeEmail, oneTimePassword, parseUserEmail, resetPassword } from "./services/auth.ts";
import { createApiToken, DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, revokeApiToken } from "./services/api-tokens.ts";
import { releaseLeases } from "./jobs/queue.ts";
import { BackupError, backupDatabase, backupPath, restoreDatabase, sweepBackupParts } from "./services/backup.ts";
import { holdInstanceLock } from "./services/instance.ts";
import { namedFiles, relativizeFilePaths, sweepOrphanFiles } from "./services/data-files.ts";
import { systemClock } from "./services/clock.ts";
import { adoptKeys, generatedKeyPath, resealInPlace, resolveKeys, retireOlderKeys, SealError, sealInPlace, type Key, type KeyRing } from "./services/sealed-files.ts";
import { DatasetError, DEMO_DATASET, generateDataset } from "./services/demo-data.ts";
import { recordAudit } from "./services/audit.ts";
import { recountFigures } from "./services/dashboard.ts";
import { resetSecondFactor } from "./services/two-factor.ts";

const embeddedMigrationCount = embeddedMigrations.length;

/** A problem the sysadmin must fix: printed as one line, exit code 1. */
class StartupError extends Error {}

const USAGE = `Placement: fasce deboli and placement data exchange for temp agencies.

Usage: placement [command] [flags]

Commands:
  serve                         start the web server and the scheduler (default)
  migrate                       apply the database migrations and exit
  seed [--agencies N] [--enrollments M] [--seed S]
                                fill an empty database with generated data
                                (default: the demo dataset, 3 agencies and 6,000 enrollments)
  backup [--out FILE]           write a consistent copy of the database (default
                                DATA_DIR/backups/placement-<time>.db), also while serving
  restore FILE                  put a backup in place of the database; the program must be
                                stopped; the replaced database is kept beside it
  user create --role ROLE --email EMAIL [--name NAME] [--agency CODE] [--placement]
                                create a user and print a one-time password;
                                ROLE is one of ${ROLES.join(", ")}
  user reset-password --email EMAIL
                                print a one-time password, to be changed at the next sign-in
  user reset-2fa --email EMAIL  remove the user's second factor (a lost phone); open sessions end
  token create --email EMAIL --name NAME [--days N]
                                print a new API token of an agency user with the Placement
                                permission, valid N days (default ${DEFAULT_TOKEN_DAYS}, at most ${MAX_TOKEN_DAYS})
  token revoke --id N           revoke an API token for good (ids are on the fund's Token API page)
  recount                       count the dashboards' figures again from the enrollments and
                                put right the kept counts that differ, also while serving
  key rotate                    seal every file again with the newest data key (DATA_KEY or
                                DATA_KEY_FILE, newest first), also while the program serves

Flags and environment variables are equivalent; flags win.
`;

function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error("it is not a folder");
    accessSync(dir, constants.R_OK | constants.W_OK);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StartupError(`DATA_DIR ${dir} cannot be used (${reason}); create it or make it writable by this user`);
  }
}

/** The data keys of this run; a key made for a new DATA_DIR is announced with what to do. */
function dataKeys(config: Config, log: Logger, databaseExists: boolean, serving = false): KeyRing {
  try {
    const { keys, made, fromDataDir } = resolveKeys(config, databaseExists);
    if (made) {
      log.warn(`a data key was made in ${made}: move it outside DATA_DIR and out of the backups, and give it with DATA_KEY_FILE; without it nothing written from now on can be read`);
    } else if (fromDataDir && serving) {
      // At every start of the server, not at each command: a command's error stays one line.
      log.warn(`the data key is read from ${generatedKeyPath(config.DATA_DIR)}, inside DATA_DIR: move it elsewhere and give it with DATA_KEY_FILE`);
    }
    return keys;
  } catch (error) {
    if (error instanceof SealError) throw new StartupError(error.message);
    throw error;
  }
}

/** Opens the database and applies pending migrations, after a backup when it already had data. */
async function openStore(config: Config, log: Logger = createLogger(), serving = false): Promise<{ db: Db; keys: KeyRing }> {
  prepareDataDir(config.DATA_DIR);
  let db: Db | undefined;
  try {
    const existed = existsSync(dataPaths(config).database);
    db = openDatabase(dataPaths(config).database);
    const keys = dataKeys(config, log, existed, serving);
    // A wrong key is refused before anything is written: no backup, no migration.
    adoptKeys(db, keys, systemClock.now());
    const pending = pendingMigrations(db);
    if (pending > 0 && pending < embeddedMigrationCount) {
      const { path } = await backupDatabase(db, backupPath(config, systemClock.now(), "pre-migration"), keys[0]!);
      log.info("backup taken before migrating", { path, pending });
    }
    migrate(db);
    protectDatabase(config, log);
    adoptKeys(db, keys, systemClock.now());
    // Paths of earlier versions made relative first, so that the files they name are found.
    const rewritten = relativizeFilePaths(db);
    if (rewritten) log.info("file paths made relative to DATA_DIR", { rows: rewritten });
    // At every start, not once: a first sealing cut short by a stop goes on at the next.
    await sealEarlierFiles(db, config, keys[0]!, log);
    return { db, keys };
  } catch (error) {
    db?.$client.close();
    if (error instanceof StartupError) throw error;
    if (error instanceof DatabaseFileError || error instanceof BackupError || error instanceof SealError) throw new StartupError(error.message);
    throw new StartupError(`cannot open the database in ${config.DATA_DIR}: ${(error as Error).message}`);
  }
}

/**
 * The live database is not sealed: only its owner may read it. A file that others could read
 * is made private, and the log says so.
 */
function protectDatabase(config: Config, log: Logger): void {
  const { database } = dataPaths(config);
  for (const path of [database, `${database}-wal`, `${database}-shm`]) {
    if (!existsSync(path)) continue;
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) === 0) continue;
    try {
      chmodSync(path, 0o600);
    } catch (error) {
      throw new StartupError(`${path} can be read by other users (mode ${mode.toString(8)}) and cannot be changed (${(error as NodeJS.ErrnoException).code}); make it readable by this user only`);
    }
    log.warn(`${path} could be read by other users (mode ${mode.toString(8)}): it is now readable by this user only`);
  }
}

/** Every sealed file of DATA_DIR: those the jobs name, the backups, and databases kept by a restore. */
function sealedFiles(db: Db, config: Config): string[] {
  const backups = dataPaths(config).backups;
  const kept = readdirSync(config.DATA_DIR).filter((n) => /^placement\.db\.before-restore-\d{8}-\d{6}$/.test(n));
  return [
    ...namedFiles(db, config),
    ...(existsSync(backups) ? readdirSync(backups).filter((n) => n.endsWith(".db")).map((n) => join(backups, n)) : []),
    ...kept.map((n) => join(config.DATA_DIR, n)),
  ];
}

/** Files and backups that a version before sealing left plain in DATA_DIR are sealed once, at the first start with a key. */
async function sealEarlierFiles(db: Db, config: Config, key: Key, log: Logger): Promise<void> {
  let sealed = 0;
  for (const path of sealedFiles(db, config)) if (await sealInPlace(path, key)) sealed++;
  if (sealed) log.info("files written by an earlier version sealed", { files: sealed });
}

/** `placement key rotate`: every file sealed with an older key is sealed again with the newest, while the program serves. */
async function keyRotate(config: Config): Promise<void> {
  const { db, keys } = await openStore(config);
  try {
    let rotated = 0;
    for (const path of sealedFiles(db, config)) {
      try {
        if (await resealInPlace(path, keys)) rotated++;
      } catch (error) {
        if (error instanceof SealError) throw new StartupError(`${path} cannot be read with the keys given (${error.message}); the files before it are done, run the command again once it is fixed`);
        throw error;
      }
    }
    // From now on a start with only an older key is refused: it could read none of the files.
    retireOlderKeys(db, keys);
    console.log(`${rotated} files sealed again with key ${keys[0]!.id}; once the program has restarted with it first, the older keys can be removed`);
  } finally {
    db.$client.close();
  }
}

/** Opens the database as it is, without migrating: for a backup taken by an operator. */
function openExisting(config: Config): Db {
  const path = dataPaths(config).database;
  if (!existsSync(path)) throw new StartupError(`there is no database at ${path}; check DATA_DIR`);
  try {
    return openDatabase(path);
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

const isEmpty = (db: Db) =>
  (db.$client.query("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM agencies) AS n").get() as { n: number })
    .n === 0;

async function serve(config: Config): Promise<void> {
  const log = createLogger(config.LOG_FORMAT);
  prepareDataDir(config.DATA_DIR);
  const instance = holdInstanceLock(config);
  if (!instance) throw new StartupError(`another Placement is running on ${config.DATA_DIR}; stop it first`);
  const { db, keys } = await openStore(config, log, true);
  // For the sysadmin (and a systemd PIDFile=): which process holds DATA_DIR.
  writeFileSync(dataPaths(config).pidFile, String(process.pid));
  const deps = createDeps({ db, config, log, keys });
  // Before any job: files no row names removed, and what a stop left half done.
  const parts = sweepBackupParts(config);
  if (parts.length) log.info("plain copies left by an interrupted backup removed", { files: parts.length });
  const orphans = sweepOrphanFiles(db, config);
  if (orphans.length) log.info("files left by interrupted work removed", { files: orphans.length });
  const resumed = releaseLeases(db);
  if (resumed) log.info("jobs interrupted by a stop resume now", { jobs: resumed });
  if (config.DEMO) {
    log.info("demo mode is on: demo users sign in with password demo1234");
    if (isEmpty(db)) {
      const summary = await generateDataset(db, systemClock, DEMO_DATASET);
      log.info("demo dataset loaded", summary);
    }
  } else if (isEmpty(db)) {
    log.warn(
      "no users yet: create the first fund operator with `placement user create --role fund_operator --email you@example.org`",
    );
  }
  const scheduler = startScheduler(deps);
  const app = createApp(deps);
  const server = Bun.serve({
    port: config.PORT,
    hostname: config.HOST,
    fetch: app.fetch,
    // A backstop only: uploads are refused with a sentence well before this (src/http.ts).
    maxRequestBodySize: config.UPLOAD_MAX_MB * 2 * 1024 * 1024,
  });
  log.info("listening", {
    url: `http://${config.HOST}:${server.port}`,
    base_url: config.BASE_URL,
    data_dir: config.DATA_DIR,
    mail: deps.mail.kind === "smtp" ? "smtp" : `files in ${dataPaths(config).mail}`,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    await server.stop();
    await scheduler.stop();
    deps.workers.close();
    db.$client.close();
    rmSync(dataPaths(config).pidFile, { force: true });
    instance.release();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

async function seed(config: Config, flags: Record<string, string>): Promise<void> {
  const { db } = await openStore(config);
  const count = (name: string, fallback: number) => {
    const value = flags[name] === undefined ? fallback : Number(flags[name]);
    if (!Number.isSafeInteger(value) || value < 1) throw new StartupError(`${name} must be a positive whole number`);
    return value;
  };
  const started = performance.now();
  try {
    const summary = await generateDataset(db, systemClock, {
      agencies: count("--agencies", DEMO_DATASET.agencies),
      enrollments: count("--enrollments", DEMO_DATASET.enrollments),
      seed: count("--seed", DEMO_DATASET.seed ?? 1),
    });
    console.log(JSON.stringify({ ...summary, seconds: Number(((performance.now() - started) / 1000).toFixed(2)) }));
  } catch (error) {
    if (error instanceof DatasetError) throw new StartupError(error.message);
    throw error;
  }
}

async function userCreate(config: Config, flags: Record<string, string>): Promise<void> {
  const role = flags["--role"] as Role | undefined;
  const email = parseUserEmail(flags["--email"] ?? "");
  if (!role || !ROLES.includes(role)) throw new StartupError(`--role must be one of ${ROLES.join(", ")}`);
  if (!email) throw new StartupError("--email must be an e-mail address such as nome.cognome@fondo.example");
  const { db } = await openStore(config);
  let agencyId: number | null = null;
  if (role !== "fund_operator") {
    const agency = db.$client.query("SELECT id FROM agencies WHERE code = ?").get(flags["--agency"] ?? "") as {
      id: number;
    } | null;
    if (!agency) throw new StartupError("--agency must be the code of an existing agency for agency roles");
    agencyId = agency.id;
  }
  const password = oneTimePassword();
  try {
    await createUser(db, {
      email,
      name: flags["--name"] ?? email,
      role,
      agencyId,
      placementPermission: flags["--placement"] !== undefined,
      password,
      mustChangePassword: true,
    });
  } catch (error) {
    if (String(error).includes("UNIQUE")) throw new StartupError(`a user with e-mail ${email} already exists`);
    throw error;
  }
  console.log(`created ${role} ${email}; one-time password: ${password} (to be changed at the first sign-in)`);
}

async function userResetPassword(config: Config, flags: Record<string, string>): Promise<void> {
  const email = flags["--email"];
  if (!email) throw new StartupError("--email is required");
  const { db } = await openStore(config);
  const password = await resetPassword(db, systemClock, email);
  if (!password) throw new StartupError(`there is no user with e-mail ${email}`);
  console.log(`one-time password for ${email.toLowerCase()}: ${password} (to be changed at the next sign-in)`);
}

async function userResetSecondFactor(config: Config, flags: Record<string, string>): Promise<void> {
  const email = flags["--email"];
  if (!email) throw new StartupError("--email is required");
  const { db } = await openStore(config);
  try {
    const user = db.$client.query("SELECT id, agency_id AS agencyId FROM users WHERE email = ?").get(email.trim().toLowerCase()) as { id: number; agencyId: number | null } | null;
    if (!user) throw new StartupError(`there is no user with e-mail ${email}`);
    resetSecondFactor(db, user.id);
    recordAudit(db, systemClock, { action: "two_factor_reset", target: `user:${user.id}`, agencyId: user.agencyId, detail: { by: "command line" } });
    console.log(`second factor of ${email.toLowerCase()} removed; the user may enrol again at the next sign-in`);
  } finally {
    db.$client.close();
  }
}

async function tokenCreate(config: Config, flags: Record<string, string>): Promise<void> {
  const email = flags["--email"];
  const name = flags["--name"];
  const days = flags["--days"] === undefined ? DEFAULT_TOKEN_DAYS : Number(flags["--days"]);
  if (!email) throw new StartupError("--email is required");
  if (!name) throw new StartupError("--name is required: say which system will use the token");
  if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) throw new StartupError(`--days must be a whole number from 1 to ${MAX_TOKEN_DAYS}`);
  const { db } = await openStore(config);
  try {
    const user = db.select().from(users).where(eq(users.email, normalizeEmail(email))).get();
    if (!user) throw new StartupError(`there is no user with e-mail ${email}`);
    const result = createApiToken(db, systemClock, user, { name, days });
    if (!result.ok) throw new StartupError(result.error);
    recordAudit(db, systemClock, {
      action: "api_token_create",
      userId: user.id,
      agencyId: user.agencyId,
      target: `token:${result.id}`,
      detail: { name: name.trim(), expiresAt: result.expiresAt.toISOString(), by: "command line" },
    });
    console.error(`token ${result.id} "${name.trim()}" for ${user.email}, valid until ${result.expiresAt.toISOString()}; it is shown only now:`);
    console.log(result.token);
  } finally {
    db.$client.close();
  }
}

async function tokenRevoke(config: Config, flags: Record<string, string>): Promise<void> {
  const id = Number(flags["--id"]);
  if (!Number.isSafeInteger(id) || id < 1) throw new StartupError("--id must be the number of a token");
  const { db } = await openStore(config);
  try {
    const token = revokeApiToken(db, systemClock, id, "cli");
    if (!token) throw new StartupError(`there is no token ${id} still in force`);
    const owner = db.select({ agencyId: users.agencyId, email: users.email }).from(users).where(eq(users.id, token.userId)).get();
    recordAudit(db, systemClock, { action: "api_token_revoke", agencyId: owner?.agencyId, target: `token:${id}`, detail: { name: token.name, user: owner?.email, by: "command line" } });
    console.log(`token ${id} "${token.name}" of ${owner?.email} revoked`);
  } finally {
    db.$client.close();
  }
}

async function main(args: string[]): Promise<void> {
  // Everything the program writes in DATA_DIR holds personal data: readable by its user only.
  process.umask(0o077);
  const { flags, positionals } = parseFlags(args, ["--placement"]);
  const command = positionals.join(" ") || "serve";
  if (flags["--help"] !== undefined) {
    console.log(`${USAGE}\n${settingsHelp()}`);
    return;
  }
  const commandFlags: Record<string, string[]> = {
    serve: [],
    migrate: [],
    backup: ["--out"],
    seed: ["--agencies", "--enrollments", "--seed"],
    "user create": ["--role", "--email", "--name", "--agency", "--placement"],
    "user reset-password": ["--email"],
    "user reset-2fa": ["--email"],
    "key rotate": [],
    recount: [],
    "token create": ["--email", "--name", "--days"],
    "token revoke": ["--id"],
  };
  const restoreFile = positionals[0] === "restore" && positionals.length === 2 ? positionals[1]! : null;
  const allowed = restoreFile ? [] : commandFlags[command];
  if (!allowed) throw new StartupError(`unknown command "${command}"; see placement --help`);
  const unknown = unknownFlags(flags, allowed);
  if (unknown.length) throw new StartupError(`unknown flag ${unknown[0]}; see placement --help`);
  const config = loadConfig(process.env, flags);
  if (command === "serve") return serve(config);
  if (command === "migrate") {
    (await openStore(config)).db.$client.close();
    return console.log("database is up to date");
  }
  if (command === "seed") return seed(config, flags);
  if (command === "recount") {
    const db = openExisting(config);
    try {
      if (pendingMigrations(db) > 0) throw new StartupError("the database has migrations to apply first; run placement migrate");
      const wrong = recountFigures(db);
      return console.log(wrong ? `${wrong} kept count rows differed from the enrollments and were counted again` : "the kept counts match the enrollments");
    } finally {
      db.$client.close();
    }
  }
  if (command === "backup") {
    const db = openExisting(config);
    try {
      const keys = dataKeys(config, createLogger(), true);
      adoptKeys(db, keys, systemClock.now());
      const { path, bytes } = await backupDatabase(db, resolve(flags["--out"] ?? backupPath(config, systemClock.now(), "placement")), keys[0]!);
      return console.log(`backup written to ${path} (${bytes} bytes)`);
    } catch (error) {
      throw new StartupError((error as Error).message);
    } finally {
      db.$client.close();
    }
  }
  if (restoreFile) {
    try {
      const keys = dataKeys(config, createLogger(), true);
      const { replaced } = await restoreDatabase(config, systemClock, resolve(restoreFile), keys);
      return console.log(`database restored from ${resolve(restoreFile)}${replaced ? `; the previous one is kept as ${replaced}` : ""}`);
    } catch (error) {
      if (error instanceof BackupError) throw new StartupError(error.message);
      throw error;
    }
  }
  if (command === "user reset-password") return userResetPassword(config, flags);
  if (command === "user reset-2fa") return userResetSecondFactor(config, flags);
  if (command === "key rotate") return keyRotate(config);
  if (command === "token create") return tokenCreate(config, flags);
  if (command === "token revoke") return tokenRevoke(config, flags);
  return userCreate(config, flags);
}

/** Runs a command of the command line; exits with 1 and one line on stderr when it fails. */
export function runCommand(args: string[]): Promise<void> {
  return main(args).catch((error) => {
    if (error instanceof StartupError || error instanceof ConfigError) {
      console.error(`placement: ${error.message}`);
    } else {
      console.error(`placement: unexpected error: ${error instanceof Error ? error.stack : String(error)}`);
    }
    process.exit(1);
  });
}
