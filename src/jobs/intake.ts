import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { dataPaths, type Config } from "../config.ts";
import { writeYielding, type Db } from "../db/client.ts";
import { masterDataJobs } from "../db/schema.ts";
import { removeQuietly, storedName } from "../services/data-files.ts";
import { MASTER_SHEET, matchMasterHeader } from "../sheets/master-columns.ts";
import { UploadError } from "../sheets/upload-error.ts";
import { sheetOf, sniffFormat, type UploadFormat, type UploadKind } from "../sheets/upload-parse.ts";
import type { HeaderWorkerInput, HeaderWorkerResult } from "./upload-check-worker.ts";
import { writeSealed, type KeyRing } from "../services/sealed-files.ts";
import type { ChildLimits } from "./parse-runner.ts";
import type { WorkerThreads } from "./worker-runner.ts";
import type { User } from "../services/auth.ts";
import type { Clock } from "../services/clock.ts";
import { campaignClosedReason } from "../services/campaigns.ts";
import { monthFirstProblem, queueUpload, uploadHeaderProblem } from "../services/uploads.ts";

export type UploadResult = { ok: true; id: number; fileName: string; sheetName: string | null } | { ok: false; error: string };

type StoredFile = {
  filePath: string;
  fileSha256: string;
  fileFormat: UploadFormat;
  fileSize: number;
  fileName: string;
  /** The sheet read, when it is not the expected one. */
  sheetName: string | null;
};

export type HeaderCheck = (header: { header: string[]; metadata: Record<string, string> | null; monthFirstLine: number | null }) => string | null;

/**
 * At most this many files are checked at once, each in its own reading process: more
 * uploads at the same moment wait their turn, so that they cannot add up to more memory
 * than the machine has.
 */
const CHECKS_AT_ONCE = 2;
const CHECK_WAIT_MS = 60_000;
const BUSY = "Placement sta controllando molti file in questo momento: riprova tra qualche minuto.";

/** Turns to check a file, per data folder. */
class Turns {
  private busy = 0;
  private waiting: (() => void)[] = [];

  /** Waits for a turn; false when none came within `ms`. */
  async take(ms: number): Promise<boolean> {
    if (this.busy < CHECKS_AT_ONCE) {
      this.busy++;
      return true;
    }
    return new Promise((resolve) => {
      const turn = () => {
        clearTimeout(timer);
        this.busy++;
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== turn);
        resolve(false);
      }, ms);
      this.waiting.push(turn);
    });
  }

  give(): void {
    this.busy--;
    this.waiting.shift()?.();
  }
}

const turnsByFolder = new Map<string, Turns>();
const turnsFor = (config: Config) => {
  let turns = turnsByFolder.get(config.DATA_DIR);
  if (!turns) turnsByFolder.set(config.DATA_DIR, (turns = new Turns()));
  return turns;
};

/**
 * What every upload goes through while the user waits: the real file type, then the
 * header (and metadata) read by the child process and judged by `check`. Only then is the
 * file stored (sealed, as it was written for the check), with its SHA-256, and `queue`d;
 * otherwise nothing is kept.
 */
async function receiveUpload(
  { config, workers, keys }: { config: Config; workers: WorkerThreads; keys: KeyRing },
  input: { fileName: string; bytes: Uint8Array },
  kind: UploadKind,
  limits: ChildLimits,
  check: HeaderCheck,
  queue: (file: StoredFile) => Promise<number>,
): Promise<UploadResult> {
  try {
    sniffFormat(input.bytes);
  } catch (error) {
    if (error instanceof UploadError) return { ok: false, error: error.message };
    throw error;
  }
  const turns = turnsFor(config);
  if (!(await turns.take(CHECK_WAIT_MS))) return { ok: false, error: BUSY };
  const dir = dataPaths(config).uploads;
  const pending = join(dir, `incoming-${crypto.randomUUID()}`);
  try {
    let found: HeaderWorkerResult;
    // The turn is the check's alone: the next upload's check need not wait for this one's queueing.
    try {
      mkdirSync(dir, { recursive: true });
      // Inside the try: a write cut short (a full disk) leaves no part of the file behind.
      writeSealed(pending, keys[0]!, input.bytes);
      found = await workers.run<HeaderWorkerInput, HeaderWorkerResult>("upload-check-worker", { path: pending, kind, limits, keys }, () => {});
    } finally {
      turns.give();
    }
    const problem = found.ok ? check(found) : found.error;
    const format = found.ok ? found.format : "csv";
    const sheetName = !found.ok || format === "csv" || found.sheet === sheetOf(kind) ? null : found.sheet;
    if (problem) return { ok: false, error: problem };
    const name = storedName("uploads", `${crypto.randomUUID()}.${format}`);
    const stored = join(config.DATA_DIR, name);
    renameSync(pending, stored);
    try {
      const id = await queue({
        filePath: name,
        fileSha256: new Bun.CryptoHasher("sha256").update(input.bytes).digest("hex"),
        fileFormat: format,
        fileSize: input.bytes.length,
        fileName: input.fileName.slice(0, 255),
        sheetName,
      });
      return { ok: true, id, fileName: input.fileName, sheetName };
    } catch (error) {
      removeQuietly(stored);
      throw error;
    }
  } finally {
    removeQuietly(pending);
  }
}

/**
 * Queues the job and records it (the audit entry) in one transaction: never one without the
 * other. The pages are not held meanwhile when a running job is writing.
 */
function queuedWith(db: Db, onQueued: (id: number) => void, queue: () => number): Promise<number> {
  return writeYielding(db, () => {
    const id = queue();
    onQueued(id);
    return id;
  });
}

/** An agency's filled file: the campaign must be open, the metadata of this agency and year. */
export async function acceptUpload(
  deps: { db: Db; clock: Clock; config: Config; workers: WorkerThreads; keys: KeyRing },
  user: User,
  agencyCode: string,
  input: { fileName: string; bytes: Uint8Array; year: number },
  limits: ChildLimits,
  onQueued: (id: number) => void,
): Promise<UploadResult> {
  const { db, clock } = deps;
  const agencyId = user.agencyId;
  if (agencyId === null) return { ok: false, error: "I caricamenti si fanno per un'agenzia: accedi con un'utenza dell'agenzia." };
  const closed = campaignClosedReason(db, input.year, clock.now(), agencyId);
  if (closed) return { ok: false, error: closed };
  return receiveUpload(
    deps,
    input,
    "trainees",
    limits,
    (found) => uploadHeaderProblem(found, { agencyCode, year: input.year }),
    (file) => queuedWith(db, onQueued, () => queueUpload(db, clock, { ...file, agencyId, userId: user.id, year: input.year })),
  );
}

/** The fund's master-data file, on the template's "Anagrafica" sheet. */
export function acceptMasterUpload(
  deps: { db: Db; clock: Clock; config: Config; workers: WorkerThreads; keys: KeyRing },
  user: User,
  input: { fileName: string; bytes: Uint8Array },
  limits: ChildLimits,
  onQueued: (id: number) => void,
): Promise<UploadResult> {
  const { db, clock } = deps;
  return receiveUpload(
    deps,
    input,
    "master",
    limits,
    ({ header, monthFirstLine }) => {
      const { missing } = matchMasterHeader(header);
      if (missing.length) {
        return `Nel foglio "${MASTER_SHEET}" mancano le colonne: ${missing.map((c) => c.header).join(", ")}. Usa il modello scaricabile da questa pagina.`;
      }
      return monthFirstLine === null ? null : monthFirstProblem([monthFirstLine]);
    },
    (file) =>
      queuedWith(db, onQueued, () =>
        db
          .insert(masterDataJobs)
          .values({ ...file, userId: user.id, createdAt: clock.now() })
          .returning({ id: masterDataJobs.id })
          .get().id,
      ),
  );
}
