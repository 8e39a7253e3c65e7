import { existsSync } from "node:fs";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { attachment, clientAddress, signedInScope, signedInUser, type AppEnv } from "../http.ts";
import { acceptUpload, type UploadResult } from "../jobs/intake.ts";
import { PARSE_LIMITS } from "../jobs/parse-runner.ts";
import { recordAudit, type AuditEntry } from "../services/audit.ts";
import { dataFile } from "../services/data-files.ts";
import { bookExport, exportFileName, type ExportListing, type ExportRequest } from "../services/exports.ts";
import { getAgency } from "../services/projects.ts";
import type { UploadListing } from "../services/uploads.ts";
import { FILE_CONTENT_TYPES } from "../sheets/trainee-file.ts";

/*
 * The agency's round trip (book, download, upload, outcome), the same for the page and the
 * API: one set of rules, audit entries and wake-ups, whichever way the request came.
 */

/** Audits an action of the signed-in user; by API the entry names the token. */
function audit(c: Context<AppEnv>, entry: Omit<AuditEntry, "userId" | "address">): void {
  const { db, clock } = c.get("deps");
  const token = c.get("apiToken");
  const detail = token ? { ...entry.detail, token: token.name, tokenId: token.id } : entry.detail;
  recordAudit(db, clock, { ...entry, detail, userId: signedInUser(c).id, address: clientAddress(c) });
}

/** Books a download of the user's agency; the queue is woken at once. */
export function bookAgencyExport(c: Context<AppEnv>, request: ExportRequest) {
  const { db, clock, jobs } = c.get("deps");
  const user = signedInUser(c);
  const result = bookExport(db, clock, user, request);
  if (result.ok) {
    const detail = { booking: result.id, year: request.year, trainingTypes: request.trainingTypes, format: request.format };
    audit(c, { action: "export_book", agencyId: user.agencyId, target: `booking:${result.id}`, detail });
    jobs.wake();
  }
  return result;
}

/** An agency's filled file, through the instant checks into the queue, or the sentence that refuses it. */
export async function receiveTraineeUpload(c: Context<AppEnv>, file: { name: string; bytes: Uint8Array }, year: number): Promise<UploadResult> {
  const deps = c.get("deps");
  const user = signedInUser(c);
  const agency = getAgency(deps.db, signedInScope(c), user.agencyId ?? 0);
  const record = (action: string, detail: Record<string, unknown>) =>
    audit(c, { action, agencyId: user.agencyId, target: file.name.slice(0, 255), detail });
  const result = await acceptUpload(
    deps,
    user,
    agency?.code ?? "",
    { fileName: file.name, bytes: file.bytes, year },
    PARSE_LIMITS.header,
    (id) => record("upload", { upload: id, bytes: file.bytes.length }),
  );
  if (result.ok) deps.jobs.wake();
  else record("upload_refused", { reason: result.error });
  return result;
}

/** A booking's file, audited; 409 while it is not ready, 410 once it is gone. */
export function exportFileResponse(c: Context<AppEnv>, job: ExportListing): Response {
  const { config } = c.get("deps");
  if (job.status === "expired" || (job.status === "ready" && (!job.filePath || !existsSync(dataFile(config, job.filePath))))) {
    throw new HTTPException(410, {
      message: `Il file non è più disponibile: i file restano scaricabili per ${config.FILE_RETENTION_DAYS} giorni. Prenota un nuovo download.`,
    });
  }
  if (job.status !== "ready" || !job.filePath) {
    throw new HTTPException(409, { message: "Il file non è ancora pronto: attendi che la prenotazione risulti disponibile." });
  }
  const name = exportFileName(job);
  // A HEAD sends no file: it is no download.
  if (c.req.method !== "HEAD") audit(c, { action: "export_download", agencyId: job.agencyId, target: name, detail: { booking: job.id } });
  return attachment(c, dataFile(config, job.filePath), name, FILE_CONTENT_TYPES[job.format]);
}

/** An upload's outcome file, audited; 409 while the upload is not done, 410 once the file is gone. */
export function outcomeFileResponse(c: Context<AppEnv>, upload: UploadListing): Response {
  const { config } = c.get("deps");
  if (upload.status === "queued" || upload.status === "running") {
    throw new HTTPException(409, { message: "L'esito non è ancora disponibile: attendi che il caricamento sia completato." });
  }
  if (!upload.outcomePath || !existsSync(dataFile(config, upload.outcomePath))) {
    throw new HTTPException(410, {
      message: `Il file con l'esito non è più disponibile: i file restano per ${config.FILE_RETENTION_DAYS} giorni. Il riepilogo conserva i conteggi.`,
    });
  }
  const format = upload.fileFormat === "csv" ? "csv" : "xlsx";
  const name = `esito_${upload.agencyCode}_${upload.year}_${upload.id}.${format}`;
  if (c.req.method !== "HEAD") audit(c, { action: "outcome_download", agencyId: upload.agencyId, target: name });
  return attachment(c, dataFile(config, upload.outcomePath), name, FILE_CONTENT_TYPES[format]);
}
