import { Cron } from "croner";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";

/** True inside the executable built by `bun build --compile`. */
export const isCompiled = import.meta.path.startsWith("/$bunfs/") || import.meta.path.includes("~BUN");

const defaultDataDir = isCompiled ? join(dirname(process.execPath), "data") : join(process.cwd(), "data");

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["", "1", "0", "true", "false", "yes", "no", "on", "off"].includes(v), "must be 1 or 0 (true/false)")
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

const cronExpression = z.string().refine((pattern) => {
  try {
    new Cron(pattern, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}, "must be a cron expression (5 or 6 fields, seconds first when 6)");

const positiveInt = (max: number) =>
  z.coerce.number({ error: "must be a whole number" }).int("must be a whole number").min(1, `must be between 1 and ${max}`).max(max, `must be between 1 and ${max}`);

/** Every setting: its environment variable, its flag, its default and what it means. */
const settings = {
  PORT: { schema: positiveInt(65535), default: "3000", help: "TCP port to listen on" },
  HOST: { schema: z.string().min(1), default: "127.0.0.1", help: "address to listen on (0.0.0.0 for every interface)" },
  DATA_DIR: { schema: z.string().min(1), default: defaultDataDir, help: "folder for the database and files" },
  BASE_URL: {
    schema: z.union([z.literal(""), z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ""))]),
    default: "",
    help: "public address used in e-mail links and for secure cookies (default http://localhost:PORT)",
  },
  TRUST_PROXY: {
    schema: booleanText,
    default: "0",
    help: "behind a reverse proxy: take the client address from X-Forwarded-For (1/0)",
  },
  SMTP_URL: {
    schema: z.union([z.literal(""), z.url({ protocol: /^smtps?$/ })]),
    default: "",
    help: "smtp://user:pass@host:587 or smtps://…; empty writes mail as .eml files in DATA_DIR/mail",
  },
  MAIL_FROM: { schema: z.string().min(3), default: "Placement <placement@localhost>", help: "sender of notifications" },
  DEMO: { schema: booleanText, default: "0", help: "load the demo dataset on an empty database (1/0)" },
  LOG_FORMAT: { schema: z.enum(["text", "json"], { error: "must be text or json" }), default: "text", help: "log lines as text or JSON" },
  DATA_KEY: {
    schema: z.string(),
    default: "",
    help: "keys (base64, newest first) that encrypt the files in DATA_DIR; prefer DATA_KEY_FILE; empty on a new DATA_DIR: one is made there",
  },
  METRICS_TOKEN: {
    schema: z.union([z.literal(""), z.string().min(16, "must be at least 16 characters")]),
    default: "",
    help: "bearer token for GET /metrics (Prometheus); empty turns /metrics off",
  },
  QUEUE_CRON: { schema: cronExpression, default: "*/2 * * * * *", help: "how often queued jobs are picked up" },
  MAIL_CRON: { schema: cronExpression, default: "*/5 * * * * *", help: "how often the mail outbox is sent" },
  REMINDER_CRON: { schema: cronExpression, default: "0 */10 * * * *", help: "how often due deadline reminders are decided and queued" },
  MAINTENANCE_CRON: {
    schema: cronExpression,
    default: "0 */10 * * * *",
    help: "how often expired sessions and old files are purged",
  },
  BACKUP_CRON: { schema: cronExpression, default: "0 30 2 * * *", help: "when the scheduled database backup runs" },
  BACKUP_KEEP: { schema: positiveInt(1000), default: "7", help: "how many scheduled backups are kept" },
  RETENTION_YEARS: {
    schema: positiveInt(100),
    default: "10",
    help: "years after a campaign's deadline that its personal data is kept, unless the campaign says otherwise; then it is anonymised",
  },
  FILE_RETENTION_DAYS: { schema: positiveInt(3650), default: "30", help: "days generated, uploaded and outcome files are kept" },
  UPLOAD_MAX_MB: { schema: positiveInt(1024), default: "20", help: "largest accepted upload, in MB" },
  JOB_RUNNERS: { schema: positiveInt(16), default: "2", help: "queued jobs run side by side (an agency's one at a time)" },
  JOB_TIMEOUT_SECONDS: {
    schema: positiveInt(86_400),
    default: "60",
    help: "a job may take this long, and as long again per MB of upload or 20,000 rows of download; then it is stopped",
  },
  DISK_MIN_FREE_MB: {
    schema: positiveInt(1_000_000),
    default: "200",
    help: "below this much free space in DATA_DIR, /readyz answers 503",
  },
  API_RATE_PER_MINUTE: { schema: positiveInt(100_000), default: "120", help: "calls a minute one API token may make (a burst of as many, then evenly)" },
  SESSION_IDLE_MINUTES: { schema: positiveInt(24 * 60), default: "30", help: "sign-out after this much inactivity" },
  SESSION_MAX_HOURS: { schema: positiveInt(24 * 30), default: "12", help: "sign-out this long after sign-in" },
} as const;

type SettingName = keyof typeof settings;

export type Config = { [K in SettingName]: z.output<(typeof settings)[K]["schema"]> };

export class ConfigError extends Error {}

const flagName = (name: string) => `--${name.toLowerCase().replaceAll("_", "-")}`;

/** A secret may come from a file named by NAME_FILE, as container and systemd setups do. */
function fromFile(env: Record<string, string | undefined>, name: string): string | undefined {
  const path = env[`${name}_FILE`];
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new ConfigError(`${name}_FILE ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/**
 * Reads settings from flags (first), environment variables and NAME_FILE files, validates
 * them and fails with one line that names the offending variable.
 */
export function loadConfig(env: Record<string, string | undefined>, flags: Record<string, string> = {}): Config {
  // A flag shows in the process list and the shell's history: not a place for the data key.
  if (flags["--data-key"] !== undefined) {
    throw new ConfigError("--data-key would show the key to anyone listing processes: give it with DATA_KEY_FILE (or DATA_KEY) instead");
  }
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings) as [SettingName, (typeof settings)[SettingName]][]) {
    const flag = flagName(name);
    const raw = flags[flag] ?? env[name] ?? fromFile(env, name) ?? setting.default;
    const parsed = setting.schema.safeParse(raw);
    if (!parsed.success) {
      const source = flags[flag] !== undefined ? flag : name;
      throw new ConfigError(`${source} ${parsed.error.issues[0]?.message ?? "is not valid"} (got ${JSON.stringify(raw)})`);
    }
    values[name] = parsed.data;
  }
  const config = values as Config;
  config.DATA_DIR = resolve(config.DATA_DIR);
  if (config.BASE_URL === "") config.BASE_URL = `http://localhost:${config.PORT}`;
  return config;
}

/** Splits `--name value`, `--name=value` and bare boolean flags such as `--demo`. */
export function parseFlags(
  args: string[],
  booleanFlags: string[] = [],
): { flags: Record<string, string>; positionals: string[] } {
  const booleans = new Set(["--demo", "--help", ...booleanFlags]);
  const flags: Record<string, string> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    if (eq > 0) {
      flags[arg.slice(0, eq)] = arg.slice(eq + 1);
    } else if (!booleans.has(arg) && args[i + 1] !== undefined && !args[i + 1]!.startsWith("--")) {
      flags[arg] = args[++i]!;
    } else {
      flags[arg] = "1";
    }
  }
  return { flags, positionals };
}

export function unknownFlags(flags: Record<string, string>, extra: string[] = []): string[] {
  const known = new Set([...Object.keys(settings).map(flagName), "--help", ...extra]);
  return Object.keys(flags).filter((f) => !known.has(f));
}

/** Where things live inside DATA_DIR. */
export function dataPaths(config: Pick<Config, "DATA_DIR">) {
  return {
    database: join(config.DATA_DIR, "placement.db"),
    exports: join(config.DATA_DIR, "exports"),
    uploads: join(config.DATA_DIR, "uploads"),
    outcomes: join(config.DATA_DIR, "outcomes"),
    mail: join(config.DATA_DIR, "mail"),
    backups: join(config.DATA_DIR, "backups"),
    pidFile: join(config.DATA_DIR, "placement.pid"),
  };
}

export function settingsHelp(): string {
  const rows = Object.entries(settings).map(([name, s]) => {
    const def = name === "DATA_DIR" ? "data/ beside the executable" : s.default === "" ? "—" : s.default;
    return `  ${name.padEnd(22)}${(name === "DATA_KEY" ? "(no flag)" : flagName(name)).padEnd(24)}${s.help} [${def}]`;
  });
  return ["Settings (environment variable, flag, meaning [default]):", ...rows].join("\n");
}
