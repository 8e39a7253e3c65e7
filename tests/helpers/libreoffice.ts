/*
 * Real LibreOffice, headless, for the tests that check what a clerk's spreadsheet program
 * does to our files: `soffice --convert-to` under an Italian or an American user's locale.
 *
 * Each locale has its own LibreOffice user profile, made once per test process in the temp
 * folder (placement-libreoffice-<locale>-<pid>) and removed when the process exits, or by a
 * later process when the exit went unnoticed. The profile's registrymodifications.xcu sets
 * org.openoffice.Setup/L10N ooSetupSystemLocale (Tools > Options > Language Settings >
 * Languages > "Locale setting"): the locale Calc uses to parse typed or uploadedAndRun dates and
 * numbers and to format cells whose number format is a locale default. The date acceptance
 * patterns (same dialog) are left unset, so they follow that locale: it-IT accepts D/M/Y and
 * D/M, en-US accepts M/D/Y and M/D. ooLocale (the UI language) is set too, but Debian's
 * package ships only the en-US UI and LibreOffice rewrites it to en-US on its first start;
 * it does not change how cells are read or written.
 *
 * One `soffice` start costs a second or more, so pass every input of a test in one call.
 * Calls for the same locale wait for each other (one profile serves one soffice at a time);
 * the two locales have separate profiles and can follow or overlap each other.
 *
 * The filter option strings are those of LibreOffice's "CSV Filter Options" help page
 * (tokens separated by commas): 1 field separator(s) as character codes, 2 text delimiter
 * code, 3 character set (76 = UTF-8, 1 = Windows-1252; the byte of "à" checked by hand:
 * C3 A0 with 76, E0 with 1), 4 first line to read (import), 5 column formats (import; empty =
 * "Standard" for every column), 6 language of the import (0 = the profile's locale),
 * 7 quoted field as text (import) / quote all text cells (export), 8 detect special numbers
 * such as dates (import), 9 save cell contents as shown (export).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export type LibreOfficeLocale = "it-IT" | "en-US";

const CSV_FILTER = "Text - txt - csv (StarCalc)";

/**
 * Export to CSV: `;`, `"` quotes only where needed, UTF-8 without BOM, cells as shown (a date
 * cell as its number format shows it), LF line ends, first sheet only.
 * Tokens: 59 = `;`, 34 = `"`, 76 = UTF-8, 1 and "" unused on export, 0 language unused on
 * export, false = do not quote every text cell (with tokens 7 on left out, LibreOffice 7.4
 * quotes every text cell), true = (import-only flag, kept as LibreOffice writes it), true =
 * save cell contents as shown (false writes dates in the locale's default: 01/03/2020 in en-US).
 */
export const CSV_OUT_SEMICOLON_UTF8 = `csv:${CSV_FILTER}:59,34,76,1,,0,false,true,true`;

/** As CSV_OUT_SEMICOLON_UTF8, encoded Windows-1252 (token 3 = 1): "à" is the byte E0. */
export const CSV_OUT_SEMICOLON_WINDOWS1252 = `csv:${CSV_FILTER}:59,34,1,1,,0,false,true,true`;

/** As CSV_OUT_SEMICOLON_UTF8, separated by `,` (token 1 = 44). */
export const CSV_OUT_COMMA_UTF8 = `csv:${CSV_FILTER}:44,34,76,1,,0,false,true,true`;

/**
 * Import of a CSV (for `infilter`): `;`, `"` quotes, UTF-8 (a BOM is skipped), from line 1,
 * every column "Standard", language 0 = the profile's locale, quoted fields are not forced to
 * text, special numbers (dates) detected: a date is read with the locale's date acceptance
 * patterns, as opening the file in that user's Calc would.
 */
export const CSV_IN_SEMICOLON_UTF8 = `${CSV_FILTER}:59,34,76,1,,0,false,true`;

/** As CSV_IN_SEMICOLON_UTF8, for a file encoded Windows-1252 (token 3 = 1). */
export const CSV_IN_SEMICOLON_WINDOWS1252 = `${CSV_FILTER}:59,34,1,1,,0,false,true`;

/** As CSV_IN_SEMICOLON_UTF8, separated by `,` (token 1 = 44). */
export const CSV_IN_COMMA_UTF8 = `${CSV_FILTER}:44,34,76,1,,0,false,true`;

function findSoffice(): string | null {
  const onPath = Bun.which("soffice");
  if (onPath) return onPath;
  return existsSync("/usr/bin/soffice") ? "/usr/bin/soffice" : null;
}

const SOFFICE = findSoffice();

/** Whether LibreOffice is installed: tests that need it skip when it is not (`test.skipIf(!hasLibreOffice)`). */
export const hasLibreOffice: boolean = SOFFICE !== null;

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function registryModifications(locale: LibreOfficeLocale): string {
  const item = (path: string, name: string, value: string) =>
    `<item oor:path="${path}"><prop oor:name="${name}" oor:op="fuse"><value>${escapeXml(value)}</value></prop></item>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
${item("/org.openoffice.Setup/L10N", "ooSetupSystemLocale", locale)}
${item("/org.openoffice.Setup/L10N", "ooLocale", locale)}
${item("/org.openoffice.Office.Common/Misc", "FirstRun", "false")}
</oor:items>
`;
}

const profiles = new Map<LibreOfficeLocale, string>();
const queues = new Map<LibreOfficeLocale, Promise<unknown>>();
const PROFILE_NAME = /^placement-libreoffice-(?:it-IT|en-US)-(\d+)$/;

// `bun run` fires "exit"; `bun test` does not, so profiles are also named by process id and
// those of processes that are gone are removed when the next one makes its own.
process.on("exit", () => {
  for (const dir of profiles.values()) rmSync(dir, { recursive: true, force: true });
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function removeProfilesOfEndedProcesses(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(PROFILE_NAME.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isRunning(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** The profile folder of a locale, made on first use. */
function profileFor(locale: LibreOfficeLocale): string {
  let dir = profiles.get(locale);
  if (!dir) {
    removeProfilesOfEndedProcesses();
    dir = join(tmpdir(), `placement-libreoffice-${locale}-${process.pid}`);
    // Left by an earlier process that had the same id: start from a new profile.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "user"), { recursive: true });
    writeFileSync(join(dir, "user", "registrymodifications.xcu"), registryModifications(locale));
    profiles.set(locale, dir);
  }
  return dir;
}

export type ConvertOptions = {
  locale: LibreOfficeLocale;
  /** Files to convert, in one soffice run. Their names without extension must differ. */
  inputs: string[];
  /** `--convert-to` argument: "xlsx", "ods", "xls", or one of the CSV_OUT_* constants. */
  to: string;
  outDir: string;
  /** `--infilter` argument for every input, such as one of the CSV_IN_* constants. */
  infilter?: string;
  /** Default 120 s; soffice is killed past it. */
  timeoutMs?: number;
};

/**
 * Converts `inputs` with `soffice --headless --convert-to` under `locale`, and returns the
 * paths of the files written, in input order: `outDir/<input name>.<extension of to>`.
 * Throws, with soffice's output, when soffice fails, times out or writes no file for an input.
 */
export async function convert(options: ConvertOptions): Promise<string[]> {
  if (!SOFFICE) throw new Error("LibreOffice (soffice) is not installed");
  if (options.inputs.length === 0) return [];
  const previous = queues.get(options.locale) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => runSoffice(SOFFICE, options));
  queues.set(options.locale, run);
  return run;
}

async function runSoffice(soffice: string, options: ConvertOptions): Promise<string[]> {
  const { locale, to, infilter, timeoutMs = 120_000 } = options;
  const inputs = options.inputs.map((p) => resolve(p));
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const extension = to.split(":")[0]!;
  const outputs = inputs.map((input) => join(outDir, `${basename(input, extname(input))}.${extension}`));
  if (new Set(outputs).size !== outputs.length) throw new Error(`two inputs would write the same file in ${outDir}`);
  for (const input of inputs) if (!existsSync(input)) throw new Error(`no such input file: ${input}`);
  // A file left from an earlier run must not pass for this run's output.
  for (const output of outputs) rmSync(output, { force: true });

  const profile = profileFor(locale);
  // Only this process uses the profile, one soffice at a time: a lock left there is stale
  // (a soffice killed on timeout). Headless soffice ignores one anyway; this makes sure.
  rmSync(join(profile, ".lock"), { force: true });

  const args = [
    `-env:UserInstallation=${pathToFileURL(profile).href}`,
    "--headless",
    "--norestore",
    "--nologo",
    "--nodefault",
    ...(infilter ? [`--infilter=${infilter}`] : []),
    "--convert-to",
    to,
    "--outdir",
    outDir,
    ...inputs,
  ];
  // Its own process group, so that a timeout kills soffice.bin as well as the oosplash launcher.
  const child = spawn(soffice, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
    child.on("error", (error) => done({ code: null, signal: null, error }));
    child.on("close", (code, signal) => done({ code, signal }));
  });
  clearTimeout(timer);
  if (timedOut) rmSync(join(profile, ".lock"), { force: true });

  const command = `soffice ${args.map((a) => (/[\s;"'()]/.test(a) ? JSON.stringify(a) : a)).join(" ")}`;
  const details = `\n${command}\nstdout: ${stdout.trim()}\nstderr: ${stderr.trim()}`;
  if (result.error) throw new Error(`soffice could not start: ${result.error.message}${details}`);
  if (timedOut) throw new Error(`soffice timed out after ${timeoutMs} ms${details}`);
  if (result.code !== 0) throw new Error(`soffice exited with ${result.code ?? result.signal}${details}`);
  const missing = outputs.filter((output) => !existsSync(output));
  if (missing.length) throw new Error(`soffice wrote no ${missing.join(", ")}${details}`);
  return outputs;
}
