import { Hono, type Context } from "hono";
import { z } from "zod";
import { RecentJobs } from "../../views/partials/recent-jobs.tsx";
import { JobSummaryPage } from "../../views/pages/job-summary.tsx";
import { PlacementPage } from "../../views/pages/placement.tsx";
import type { ExportFormErrors, ExportFormValues } from "../../views/partials/export-form.tsx";
import { ExportRow } from "../../views/partials/exports.tsx";
import { ExportSection, type ExportSectionProps } from "../../views/partials/export-section.tsx";
import { UploadSection, type UploadSectionProps } from "../../views/partials/upload-section.tsx";
import { UploadRow } from "../../views/partials/uploads.tsx";
import {
  clientAddress,
  idParam,
  isHtmx,
  notFound,
  pageContext,
  readMultipart,
  requirePlacementPermission,
  requireUser,
  signedInScope,
  signedInUser,
  tooLargeMessage,
  type AppEnv,
} from "../http.ts";
import { recordAudit } from "../services/audit.ts";
import { campaignsFor, campaignState, daysLeft, listCampaigns } from "../services/campaigns.ts";
import { localDate } from "../format.ts";
import { JOB_SUMMARY_COLUMNS, jobSummary } from "../services/job-summary.ts";
import { writeTableFile } from "../sheets/table-file.ts";
import { getExport, listExports } from "../services/exports.ts";
import { activeCodes } from "../services/reference-lists.ts";
import { getUpload, listUploads } from "../services/uploads.ts";
import { listAgencies } from "../services/projects.ts";
import { isFundOperator } from "../services/auth.ts";
import { bookConsolidated } from "../services/consolidated.ts";
import { bookAgencyExport, exportFileResponse, outcomeFileResponse, receiveTraineeUpload } from "./round-trip.ts";
import { FILE_CONTENT_TYPES } from "../sheets/trainee-file.ts";
import { renderDashboard } from "./dashboard.tsx";

const RECENT_JOBS = 5;

const asList = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const exportForm = z.object({
  tipologie: z.preprocess(asList, z.array(z.string()).min(1, "Scegli almeno una tipologia formativa.")),
  anno: z.coerce.number({ error: "Scegli l'anno di riferimento." }).int("Scegli l'anno di riferimento."),
  email: z
    .string()
    .trim()
    .max(320)
    .optional()
    .transform((v) => (v ? v : null))
    .pipe(z.email("L'indirizzo e-mail aggiuntivo non è valido: correggilo o lascia il campo vuoto.").nullable()),
  formato: z.enum(["xlsx", "csv"], { error: "Scegli il formato del file: Excel o CSV." }),
  // The fund's form only: the agencies its file covers.
  agenzie: z.preprocess(asList, z.array(z.coerce.number().int().positive("Scegli le agenzie dall'elenco.")).max(10_000)),
});

const FIELD_OF: Record<string, keyof ExportFormErrors> = {
  tipologie: "trainingTypes",
  anno: "year",
  email: "extraEmail",
  formato: "format",
  agenzie: "agencies",
};

function exportSection(
  c: Context<AppEnv>,
  form: { values?: ExportFormValues; errors?: ExportFormErrors; booked?: number } = {},
): ExportSectionProps {
  const { db } = c.get("deps");
  const user = signedInUser(c);
  const years = listCampaigns(db).map((campaign) => campaign.year);
  return {
    csrfToken: c.get("csrfToken"),
    canBook: user.agencyId !== null,
    trainingTypes: activeCodes(db, "trainingTypes"),
    years,
    values: form.values ?? { trainingTypes: [], year: years[0] ?? null, extraEmail: "", format: "xlsx", agencyIds: [] },
    fund: isFundOperator(user) ? { agencies: listAgencies(db) } : undefined,
    errors: form.errors ?? {},
    booked: form.booked,
    exports: listExports(db, signedInScope(c)),
    showAgency: user.agencyId === null,
  };
}

function uploadSection(c: Context<AppEnv>, form: { error?: string; queued?: { id: number; fileName: string; sheetName: string | null }; year?: number } = {}): UploadSectionProps {
  const { db, config } = c.get("deps");
  const user = signedInUser(c);
  const years = listCampaigns(db).map((campaign) => campaign.year);
  return {
    csrfToken: c.get("csrfToken"),
    canUpload: user.agencyId !== null,
    years,
    year: form.year ?? years[0] ?? null,
    maxMb: config.UPLOAD_MAX_MB,
    error: form.error,
    queued: form.queued,
    uploads: listUploads(db, signedInScope(c)),
    showAgency: user.agencyId === null,
  };
}

/**
 * Books an agency's download or the fund's file of every agency's data (posted to the fund's
 * own prefix), from the form of either; answers with the section, as htmx swaps it.
 */
export async function book(c: Context<AppEnv>, kind: "agency" | "fund") {
  const { db, clock } = c.get("deps");
  const body = await c.req.parseBody({ all: true });
  const parsed = exportForm.safeParse(body);
  const values: ExportFormValues = {
    trainingTypes: asList(body["tipologie"]).map(String),
    year: Number(body["anno"]) || null,
    extraEmail: typeof body["email"] === "string" ? body["email"] : "",
    format: body["formato"] === "csv" ? "csv" : "xlsx",
    agencyIds: asList(body["agenzie"]).map(Number).filter(Number.isSafeInteger),
  };
  let errors: ExportFormErrors = {};
  let booked: number | undefined;
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = FIELD_OF[String(issue.path[0])] ?? "form";
      errors[field] ??= issue.message;
    }
  } else {
    const request = { trainingTypes: parsed.data.tipologie, year: parsed.data.anno, extraEmail: parsed.data.email, format: parsed.data.formato };
    const result =
      kind === "fund"
        ? bookConsolidated(db, clock, signedInUser(c), { ...request, agencyIds: parsed.data.agenzie })
        : bookAgencyExport(c, request);
    if (result.ok) {
      booked = result.id;
      // The fund's file holds every agency's trainees: its booking is in the log, not only its download.
      if (kind === "fund") {
        const detail = { year: request.year, agencies: parsed.data.agenzie, trainingTypes: request.trainingTypes };
        recordAudit(db, clock, { action: "consolidated_book", userId: signedInUser(c).id, target: `booking:${booked}`, detail, address: clientAddress(c) });
        c.get("deps").jobs.wake();
      }
    } else errors = result.errors;
  }
  const failed = booked === undefined;
  if (!isHtmx(c) && !failed) return c.redirect("/placement/import-massivo", 303);
  const section = exportSection(c, failed ? { values, errors } : { booked });
  const status = failed ? 422 : 200;
  return c.html(isHtmx(c) ? <ExportSection {...section} /> : placementPage(c, section), status);
}

function placementPage(c: Context<AppEnv>, section: ExportSectionProps, uploads = uploadSection(c)) {
  const { db, clock } = c.get("deps");
  const now = clock.now();
  const campaigns = campaignsFor(db, signedInUser(c).agencyId).map((campaign) => ({
    campaign,
    state: campaignState(campaign, now),
    daysLeft: daysLeft(campaign, now),
  }));
  return (
    <PlacementPage ctx={pageContext(c, "Placement", "placement")} campaigns={campaigns} exports={section} uploads={uploads} />
  );
}

export const placementRoutes = new Hono<AppEnv>()
  .use(requireUser, requirePlacementPermission)
  .get("/", (c) => {
    const user = signedInUser(c);
    // The fund has no dashboard of its own here (that is /fondo): it goes to every agency's jobs.
    if (user.agencyId === null) return c.redirect("/placement/import-massivo", 303);
    return renderDashboard(c, {
      agencyId: user.agencyId,
      heading: "Placement",
      action: "/placement",
      section: "placement",
      withJobs: true,
    });
  })
  .get("/ultime-elaborazioni", (c) => {
    const { db } = c.get("deps");
    const scope = signedInScope(c);
    return c.html(<RecentJobs exports={listExports(db, scope, RECENT_JOBS)} uploads={listUploads(db, scope, RECENT_JOBS)} />);
  })
  .get("/import-massivo", (c) => c.html(placementPage(c, exportSection(c))))
  .get("/riepilogo", (c) => {
    const rows = jobSummary(c.get("deps").db, signedInScope(c));
    const showAgency = signedInUser(c).agencyId === null;
    return c.html(<JobSummaryPage ctx={pageContext(c, "Riepilogo elaborazioni", "placement")} rows={rows} showAgency={showAgency} />);
  })
  .get("/riepilogo/file", async (c) => {
    const { db, clock } = c.get("deps");
    const format = c.req.query("formato") === "csv" ? "csv" : "xlsx";
    const chunks: Uint8Array[] = [];
    // A few hundred rows at most: small enough to write while the clerk waits.
    await writeTableFile(format, "Riepilogo", JOB_SUMMARY_COLUMNS, jobSummary(db, signedInScope(c)), (chunk) => void chunks.push(chunk));
    const stamp = localDate(clock.now(), "Europe/Rome");
    return new Response(new Blob(chunks as BlobPart[]), {
      headers: {
        "Content-Type": FILE_CONTENT_TYPES[format],
        "Content-Disposition": `attachment; filename="riepilogo-elaborazioni_${stamp}.${format}"`,
        "Cache-Control": "private, no-store",
      },
    });
  })
  .post("/prenotazioni", (c) => book(c, "agency"))
  .get("/prenotazioni/:id", (c) => {
    const job = getExport(c.get("deps").db, signedInScope(c), idParam(c, "id")) ?? notFound();
    return c.html(<ExportRow job={job} showAgency={signedInUser(c).agencyId === null} />);
  })
  .get("/prenotazioni/:id/file", (c) => exportFileResponse(c, getExport(c.get("deps").db, signedInScope(c), idParam(c, "id")) ?? notFound()))
  .post("/caricamenti", async (c) => {
    const { config } = c.get("deps");
    const form = await readMultipart(c);
    const year = Number(form?.get("anno")) || undefined;
    const answer = (state: { error?: string; queued?: { id: number; fileName: string; sheetName: string | null } }) => {
      const section = uploadSection(c, { ...state, year });
      if (!isHtmx(c) && !state.error) return c.redirect("/placement/import-massivo", 303);
      const status = state.error ? 422 : 200;
      return c.html(isHtmx(c) ? <UploadSection {...section} /> : placementPage(c, exportSection(c), section), status);
    };
    if (!form) return answer({ error: tooLargeMessage(config.UPLOAD_MAX_MB) });
    const file = form.get("file");
    if (!(file instanceof File) || file.name === "") return answer({ error: "Scegli il file da caricare." });
    if (!year) return answer({ error: "Scegli l'anno di riferimento." });
    const result = await receiveTraineeUpload(c, { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) }, year);
    return answer(result.ok ? { queued: { id: result.id, fileName: result.fileName, sheetName: result.sheetName } } : { error: result.error });
  })
  .get("/caricamenti/:id", (c) => {
    const upload = getUpload(c.get("deps").db, signedInScope(c), idParam(c, "id")) ?? notFound();
    return c.html(<UploadRow upload={upload} showAgency={signedInUser(c).agencyId === null} />);
  })
  .get("/caricamenti/:id/esito", (c) => outcomeFileResponse(c, getUpload(c.get("deps").db, signedInScope(c), idParam(c, "id")) ?? notFound()));
