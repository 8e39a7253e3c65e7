import { Hono, type Context } from "hono";
import {
  AgenciesAdminPage,
  AgencyAdminPage,
  AnonymiseCampaignPage,
  ApiTokensAdminPage,
  CampaignsAdminPage,
  FundUsersPage,
  MasterDataPage,
  MasterJobRow,
  ReferenceListPage,
  type FormState,
} from "../../views/pages/admin.tsx";
import { existsSync } from "node:fs";
import { HTTPException } from "hono/http-exception";
import {
  attachment,
  clientAddress,
  idParam,
  notFound,
  pageContext,
  readMultipart,
  requireFundOperator,
  requireUser,
  signedInUser,
  tooLargeMessage,
  type AppEnv,
} from "../http.ts";
import { activeCodes, addReferenceEntry, deleteReferenceEntry, referenceEntries, updateReferenceEntry, type ReferenceList } from "../services/reference-lists.ts";
import {
  addUser,
  agencyUsers,
  createAgency,
  getUserAccount,
  listAgencyAccounts,
  parseRole,
  saveCampaign,
  setTemporaryPassword,
  updateAgency,
  updateUser,
  type AdminResult,
} from "../services/admin.ts";
import { recordAudit } from "../services/audit.ts";
import { dataFile } from "../services/data-files.ts";
import { getMasterJob, listMasterJobs } from "../services/master-data.ts";
import { acceptMasterUpload } from "../jobs/intake.ts";
import { writeMasterTemplate } from "../sheets/master-template.ts";
import { FILE_CONTENT_TYPES } from "../sheets/trainee-file.ts";
import { PARSE_LIMITS } from "../jobs/parse-runner.ts";
import { getCampaign, grantExtension, listCampaigns, listExtensions, removeExtension } from "../services/campaigns.ts";
import { anonymiseRefusal, campaignPeople, keptUntil } from "../services/retention.ts";
import { anonymise } from "../jobs/maintenance.ts";
import { z } from "zod";
import { formatDate } from "../format.ts";
import { minimumsOf, saveMinimums } from "../services/minimums.ts";
import { resetSecondFactor } from "../services/two-factor.ts";
import { listApiTokens, revokeApiToken } from "../services/api-tokens.ts";

function tokensPage(c: Context<AppEnv>, state: FormState) {
  const { db, clock } = c.get("deps");
  return c.html(<ApiTokensAdminPage ctx={pageContext(c, "Token API", "admin")} tokens={listApiTokens(db, clock, "all")} now={clock.now()} state={state} />);
}

type Form = Record<string, string>;

async function formOf(c: Context<AppEnv>): Promise<Form> {
  const body = await c.req.parseBody();
  return Object.fromEntries(Object.entries(body).filter(([k, v]) => k !== "_csrf" && typeof v === "string")) as Form;
}


function audit(c: Context<AppEnv>, action: string, target: string, detail?: Record<string, unknown>, agencyId?: number) {
  const { db, clock } = c.get("deps");
  recordAudit(db, clock, { action, userId: signedInUser(c).id, agencyId, target, detail, address: clientAddress(c) });
}

function campaignsPage(c: Context<AppEnv>, state: FormState, status: 200 | 422 = 200, minimumsYear?: number) {
  const { db, config } = c.get("deps");
  const campaigns = listCampaigns(db);
  const asked = minimumsYear ?? Number(c.req.query("anno"));
  const year = campaigns.find((campaign) => campaign.year === asked)?.year ?? campaigns[0]?.year;
  return c.html(
    <CampaignsAdminPage
      ctx={pageContext(c, "Campagne", "admin")}
      campaigns={campaigns}
      extensions={listExtensions(db)}
      agencies={listAgencyAccounts(db)}
      minimums={year === undefined ? null : { year, trainingTypes: activeCodes(db, "trainingTypes"), percent: minimumsOf(db, year) }}
      retention={{ keptUntil: Object.fromEntries(campaigns.map((campaign) => [campaign.year, keptUntil(db, campaign, config)])), defaultYears: config.RETENTION_YEARS }}
      state={state}
    />,
    status,
  );
}

function anonymisePage(c: Context<AppEnv>, year: number, state: FormState, status: 200 | 422 = 200) {
  const { db, clock, config } = c.get("deps");
  const campaign = getCampaign(db, year) ?? notFound();
  const counts = campaignPeople(db, year);
  return c.html(
    <AnonymiseCampaignPage
      ctx={pageContext(c, `Anonimizza ${year}`, "admin")}
      year={year}
      counts={counts}
      keptUntil={keptUntil(db, campaign, config)}
      refusal={state.error ? null : anonymiseRefusal(db, clock, year)}
      state={state}
    />,
    status,
  );
}

// Shapes only: what a proroga may be is the campaigns service's to say.
const extensionForm = z.object({
  anno: z.coerce.number().int().catch(0),
  agenzia: z.coerce.number().int().catch(0),
  scadenza: z.string().max(10).catch(""),
  motivo: z.string().max(2000).catch(""),
});

function agencyPage(c: Context<AppEnv>, id: number, state: FormState, status: 200 | 422 = 200) {
  const { db } = c.get("deps");
  const agency = listAgencyAccounts(db).find((a) => a.id === id) ?? notFound();
  return c.html(<AgencyAdminPage ctx={pageContext(c, agency.name, "admin")} agency={agency} users={agencyUsers(db, id)} state={state} />, status);
}

function fundPage(c: Context<AppEnv>, state: FormState, status: 200 | 422 = 200) {
  return c.html(<FundUsersPage ctx={pageContext(c, "Operatori del Fondo", "admin")} users={agencyUsers(c.get("deps").db, null)} state={state} />, status);
}

/** The page a user belongs to, for answering a change to that user. */
function userPage(c: Context<AppEnv>, agencyId: number | null, state: FormState, status: 200 | 422 = 200) {
  return agencyId === null ? fundPage(c, state, status) : agencyPage(c, agencyId, state, status);
}

const failed = <T,>(result: AdminResult<T>, values: Form): FormState =>
  result.ok ? {} : { field: result.field, error: result.error, values };

const newUserNotice = (email: string, password: string) =>
  `Utente ${email} creato. Password provvisoria, da comunicare all'utente e da cambiare al primo accesso: ${password}`;

export const adminRoutes = new Hono<AppEnv>()
  .use(requireUser, requireFundOperator)
  .get("/", (c) => c.redirect("/amministrazione/agenzie", 303))
  .get("/agenzie", (c) =>
    c.html(<AgenciesAdminPage ctx={pageContext(c, "Amministrazione", "admin")} agencies={listAgencyAccounts(c.get("deps").db)} state={{}} />),
  )
  .post("/agenzie", async (c) => {
    const { db } = c.get("deps");
    const form = await formOf(c);
    const result = createAgency(db, { code: form.codice ?? "", name: form.nome ?? "" });
    if (!result.ok) {
      return c.html(<AgenciesAdminPage ctx={pageContext(c, "Amministrazione", "admin")} agencies={listAgencyAccounts(db)} state={failed(result, form)} />, 422);
    }
    audit(c, "agency_create", `agency:${result.value}`, { code: form.codice });
    return c.redirect(`/amministrazione/agenzie/${result.value}`, 303);
  })
  .get("/agenzie/:id", (c) => agencyPage(c, idParam(c, "id"), {}))
  .post("/agenzie/:id", async (c) => {
    const id = idParam(c, "id");
    if (!listAgencyAccounts(c.get("deps").db).some((a) => a.id === id)) notFound();
    const form = await formOf(c);
    const { db, clock } = c.get("deps");
    const result = updateAgency(db, clock, id, { name: form.nome ?? "", disabled: form.disabilitata === "1", twoFactorRequired: form.due_passaggi === "1" });
    if (!result.ok) return agencyPage(c, id, failed(result, form), 422);
    const { tokensRevoked } = result.value;
    audit(c, "agency_update", `agency:${id}`, { disabled: form.disabilitata === "1", twoFactorRequired: form.due_passaggi === "1", tokensRevoked }, id);
    const revoked = tokensRevoked === 1 ? " È stato revocato 1 token API." : tokensRevoked > 1 ? ` Sono stati revocati ${tokensRevoked} token API.` : "";
    return agencyPage(c, id, { notice: `Agenzia aggiornata.${revoked}` });
  })
  .post("/agenzie/:id/utenti", async (c) => {
    const id = idParam(c, "id");
    if (!listAgencyAccounts(c.get("deps").db).some((a) => a.id === id)) notFound();
    const form = await formOf(c);
    const result = await addUser(c.get("deps").db, {
      email: form.email ?? "",
      name: form.nome ?? "",
      role: parseRole(form.ruolo),
      agencyId: id,
      placementPermission: form.placement === "1",
    });
    if (!result.ok) return agencyPage(c, id, failed(result, form), 422);
    audit(c, "user_create", `user:${result.value.id}`, { role: form.ruolo, agency: id });
    return agencyPage(c, id, { notice: newUserNotice(form.email!.trim().toLowerCase(), result.value.password) });
  })
  .get("/fondo", (c) => fundPage(c, {}))
  .post("/fondo/utenti", async (c) => {
    const form = await formOf(c);
    const result = await addUser(c.get("deps").db, {
      email: form.email ?? "",
      name: form.nome ?? "",
      role: "fund_operator",
      agencyId: null,
      placementPermission: false,
    });
    if (!result.ok) return fundPage(c, failed(result, form), 422);
    audit(c, "user_create", `user:${result.value.id}`, { role: "fund_operator" });
    return fundPage(c, { notice: newUserNotice(form.email!.trim().toLowerCase(), result.value.password) });
  })
  .post("/utenti/:id", async (c) => {
    const { db } = c.get("deps");
    const id = idParam(c, "id");
    const user = agencyUsersById(c, id);
    const form = await formOf(c);
    const result = updateUser(db, id, {
      name: form.nome ?? "",
      role: parseRole(form.ruolo),
      placementPermission: form.placement === "1",
      disabled: form.disabilitato === "1",
    });
    if (!result.ok) return userPage(c, user.agencyId, failed(result, form), 422);
    audit(c, "user_update", `user:${id}`, { role: form.ruolo, placement: form.placement === "1", disabled: form.disabilitato === "1" });
    return userPage(c, user.agencyId, { notice: `Utente ${user.email} aggiornato.` });
  })
  .post("/utenti/:id/due-passaggi", (c) => {
    const id = idParam(c, "id");
    const user = agencyUsersById(c, id);
    resetSecondFactor(c.get("deps").db, id);
    audit(c, "two_factor_reset", `user:${id}`, undefined, user.agencyId ?? undefined);
    return userPage(c, user.agencyId, {
      notice: `Verifica in due passaggi di ${user.email} azzerata: al prossimo accesso potrà attivarla di nuovo${user.role === "fund_operator" ? " (per gli operatori del Fondo è obbligatoria)" : ""}.`,
    });
  })
  .post("/utenti/:id/password", async (c) => {
    const id = idParam(c, "id");
    const user = agencyUsersById(c, id);
    const password = (await setTemporaryPassword(c.get("deps").db, c.get("deps").clock, id))!;
    audit(c, "user_temporary_password", `user:${id}`);
    return userPage(c, user.agencyId, {
      notice: `Password provvisoria di ${user.email}, da comunicare all'utente e da cambiare al prossimo accesso: ${password}`,
    });
  })
  .get("/liste/:list", (c) => listPage(c, listName(c), {}))
  .post("/liste/:list", async (c) => {
    const list = listName(c);
    const form = await formOf(c);
    const result = addReferenceEntry(c.get("deps").db, LIST_SLUGS[list], { code: form.codice ?? "", description: form.descrizione ?? "" });
    if (!result.ok) return listPage(c, list, failed(result, form), 422);
    audit(c, "reference_add", `${list}:${form.codice?.trim().toUpperCase()}`);
    return listPage(c, list, { notice: "Codice aggiunto." });
  })
  .post("/liste/:list/:code", async (c) => {
    const list = listName(c);
    const code = c.req.param("code");
    const form = await formOf(c);
    const result = updateReferenceEntry(c.get("deps").db, LIST_SLUGS[list], code, {
      description: form.descrizione ?? "",
      active: form.attivo === "1",
      sortOrder: Number(form.ordine),
    });
    if (!result.ok) return listPage(c, list, failed(result, form), 422);
    audit(c, "reference_update", `${list}:${code}`, { active: form.attivo === "1" });
    return listPage(c, list, { notice: `Codice ${code} aggiornato.` });
  })
  .post("/liste/:list/:code/elimina", (c) => {
    const list = listName(c);
    const code = c.req.param("code");
    const result = deleteReferenceEntry(c.get("deps").db, LIST_SLUGS[list], code);
    if (!result.ok) return listPage(c, list, failed(result, {}), 422);
    audit(c, "reference_delete", `${list}:${code}`);
    return listPage(c, list, { notice: `Codice ${code} eliminato.` });
  })
  .get("/token", (c) => tokensPage(c, {}))
  .post("/token/:id/revoca", (c) => {
    const { db, clock } = c.get("deps");
    const token = revokeApiToken(db, clock, idParam(c, "id"), "fund") ?? notFound();
    const owner = getUserAccount(db, token.userId);
    audit(c, "api_token_revoke", `token:${token.id}`, { name: token.name, user: owner?.email }, owner?.agencyId ?? undefined);
    return tokensPage(c, { notice: `Token «${token.name}» di ${owner?.email ?? "un utente"} revocato.` });
  })
  .get("/anagrafiche", (c) => masterPage(c, {}))
  .get("/anagrafiche/modello", async () => {
    const chunks: Uint8Array[] = [];
    await writeMasterTemplate((chunk) => void chunks.push(chunk));
    return new Response(new Blob(chunks as BlobPart[]), {
      headers: { "Content-Type": FILE_CONTENT_TYPES.xlsx, "Content-Disposition": 'attachment; filename="modello-anagrafiche.xlsx"' },
    });
  })
  .post("/anagrafiche", async (c) => {
    const { config } = c.get("deps");
    const form = await readMultipart(c);
    if (!form) return masterPage(c, { error: tooLargeMessage(config.UPLOAD_MAX_MB) }, 422);
    const file = form.get("file");
    if (!(file instanceof File) || file.name === "") return masterPage(c, { error: "Scegli il file da caricare." }, 422);
    const name = file.name.slice(0, 255);
    const result = await acceptMasterUpload(c.get("deps"), signedInUser(c), { fileName: file.name, bytes: new Uint8Array(await file.arrayBuffer()) }, PARSE_LIMITS.header, (id) =>
      audit(c, "master_upload", name, { job: id }),
    );
    if (result.ok) c.get("deps").jobs.wake();
    else audit(c, "master_upload_refused", name, { reason: result.error });
    if (!result.ok) return masterPage(c, { error: result.error }, 422);
    return masterPage(c, { notice: `Caricamento n. ${result.id} (${result.fileName}) in coda: lo vedi qui sotto mentre viene elaborato.` });
  })
  .get("/anagrafiche/:id", (c) => c.html(<MasterJobRow job={getMasterJob(c.get("deps").db, idParam(c, "id")) ?? notFound()} />))
  .get("/anagrafiche/:id/esito", (c) => {
    const { db, config } = c.get("deps");
    const job = getMasterJob(db, idParam(c, "id")) ?? notFound();
    if (!job.outcomePath || !existsSync(dataFile(config, job.outcomePath))) {
      throw new HTTPException(410, { message: "Il file con l'esito non è disponibile: carica di nuovo il file per riaverlo." });
    }
    const format = job.fileFormat === "csv" ? "csv" : "xlsx";
    return attachment(c, dataFile(config, job.outcomePath), `esito-anagrafiche_${job.id}.${format}`, FILE_CONTENT_TYPES[format]);
  })
  .get("/campagne", (c) => {
    // "Modifica" fills the form with the campaign as it is.
    const edited = listCampaigns(c.get("deps").db).find((campaign) => String(campaign.year) === c.req.query("modifica"));
    const values = edited && {
      anno: String(edited.year),
      apertura: edited.opensOn,
      scadenza: edited.deadline,
      promemoria: edited.reminderDays.join(", "),
      promemoria_attivi: edited.remindersOn ? "1" : "0",
      conservazione: edited.retentionYears === null ? "" : String(edited.retentionYears),
    };
    return campaignsPage(c, values ? { values } : {});
  })
  .post("/campagne", async (c) => {
    const { db } = c.get("deps");
    const form = await formOf(c);
    const reminders = form.promemoria === undefined ? undefined : { days: form.promemoria, on: form.promemoria_attivi === "1" };
    const result = saveCampaign(db, { year: Number(form.anno), opensOn: form.apertura ?? "", deadline: form.scadenza ?? "", reminders, retentionYears: form.conservazione });
    const state: FormState = result.ok ? { notice: `Campagna ${form.anno} salvata.` } : failed(result, form);
    if (result.ok) audit(c, "campaign_save", `campaign:${form.anno}`, { opensOn: form.apertura, deadline: form.scadenza, reminders, retentionYears: form.conservazione || null });
    return campaignsPage(c, state, result.ok ? 200 : 422);
  })
  .get("/campagne/:year/anonimizza", (c) => anonymisePage(c, idParam(c, "year"), {}))
  .post("/campagne/:year/anonimizza", async (c) => {
    const { db, clock } = c.get("deps");
    const year = idParam(c, "year");
    const form = await formOf(c);
    const refusal = anonymiseRefusal(db, clock, year);
    if (refusal) return anonymisePage(c, year, { error: refusal }, 422);
    if ((form.conferma ?? "").trim() !== String(year)) {
      return anonymisePage(c, year, { field: "conferma", error: `Per confermare scrivi ${year} nel campo: nulla è stato cambiato.` }, 422);
    }
    const done = anonymise(c.get("deps"), year, { userId: signedInUser(c).id, address: clientAddress(c) });
    return campaignsPage(c, {
      notice: `Campagna ${year} anonimizzata: ${done.enrollments} iscrizioni staccate da ${done.people} persone (${done.peopleRemoved} cancellate perché senza altre iscrizioni).`,
    });
  })
  .post("/campagne/:year/minimi", async (c) => {
    const { db } = c.get("deps");
    const year = idParam(c, "year");
    const form = await formOf(c);
    const input = Object.fromEntries(Object.entries(form).flatMap(([key, value]) => (key.startsWith("minimo_") ? [[key.slice(7), value]] : [])));
    const result = saveMinimums(db, year, input);
    if (!result.ok) return campaignsPage(c, { field: result.field, error: result.error, values: form }, 422, year);
    if (Object.keys(result.changed).length) audit(c, "placement_minimums_save", `campaign:${year}`, { changed: result.changed });
    return campaignsPage(c, { notice: `Minimi di placement ${year} salvati.` }, 200, year);
  })
  .post("/campagne/proroghe", async (c) => {
    const { db, clock } = c.get("deps");
    const form = await formOf(c);
    const input = extensionForm.parse(form);
    const result = grantExtension(db, clock, signedInUser(c).id, { year: input.anno, agencyId: input.agenzia, deadline: input.scadenza, reason: input.motivo });
    if (!result.ok) return campaignsPage(c, { field: result.field, error: result.error, values: form }, 422);
    audit(
      c,
      "extension_grant",
      `campaign:${input.anno}`,
      { deadline: input.scadenza, reason: input.motivo.trim(), previousDeadline: result.previous?.deadline ?? null },
      input.agenzia,
    );
    return campaignsPage(c, { notice: `Proroga concessa fino al ${formatDate(input.scadenza)}.` });
  })
  .post("/campagne/proroghe/:id/rimuovi", (c) => {
    const removed = removeExtension(c.get("deps").db, idParam(c, "id")) ?? notFound();
    audit(c, "extension_remove", `campaign:${removed.year}`, { deadline: removed.deadline, reason: removed.reason }, removed.agencyId);
    return campaignsPage(c, { notice: `Proroga rimossa: l'agenzia torna alla scadenza della campagna ${removed.year}.` });
  });

// The lists' addresses, as the fund's pages (and its audit entries) name them.
const LIST_SLUGS = { tipologie: "trainingTypes", categorie: "categories", contratti: "contractTypes" } as const satisfies Record<string, ReferenceList>;
type ListSlug = keyof typeof LIST_SLUGS;

function listName(c: Context<AppEnv>): ListSlug {
  const name = c.req.param("list") ?? "";
  return Object.hasOwn(LIST_SLUGS, name) ? (name as ListSlug) : notFound();
}

function listPage(c: Context<AppEnv>, list: ListSlug, state: FormState, status: 200 | 422 = 200) {
  return c.html(
    <ReferenceListPage ctx={pageContext(c, "Liste di codici", "admin")} list={list} entries={referenceEntries(c.get("deps").db, LIST_SLUGS[list])} state={state} />,
    status,
  );
}

function masterPage(c: Context<AppEnv>, state: FormState, status: 200 | 422 = 200) {
  const { db, config } = c.get("deps");
  return c.html(<MasterDataPage ctx={pageContext(c, "Anagrafiche", "admin")} jobs={listMasterJobs(db)} state={state} maxMb={config.UPLOAD_MAX_MB} />, status);
}

function agencyUsersById(c: Context<AppEnv>, id: number) {
  return getUserAccount(c.get("deps").db, id) ?? notFound();
}
