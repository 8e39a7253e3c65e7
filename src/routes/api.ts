import { createRoute, OpenAPIHono, z, type Hook } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { idParam, notFound, tooLargeMessage, uploadBodyBytes, type AppEnv } from "../http.ts";
import { tokenCaller } from "../services/api-tokens.ts";
import { campaignsFor, campaignState, daysLeft, listCampaigns } from "../services/campaigns.ts";
import { agencyFigures } from "../services/dashboard.ts";
import { getExport, type ExportListing } from "../services/exports.ts";
import { claimKey, IDEMPOTENCY_KEY_SHAPE, releaseKey, settleKey } from "../services/idempotency.ts";
import { activeCodes } from "../services/reference-lists.ts";
import { scopeOf } from "../services/scope.ts";
import { sha256 } from "../services/secrets.ts";
import { getUpload, type UploadListing } from "../services/uploads.ts";
import { isStorageFull, STORAGE_FULL_MESSAGE } from "../services/storage.ts";
import { bookAgencyExport, exportFileResponse, outcomeFileResponse, receiveTraineeUpload } from "./round-trip.ts";

/*
 * The HTTP API for agencies' own systems, under /api/v1: the page's round trip by bearer
 * token. It is mounted before the session middleware, so a cookie never counts here (and
 * without cookies there is nothing for a CSRF token to protect). The zod schemas below
 * validate the requests and are the OpenAPI document at /api/v1/openapi.json.
 */

export const API_PREFIX = "/api/v1";

// ---- Schemas ---------------------------------------------------------------------------

const Problem = z
  .object({
    type: z.string().openapi({ example: "about:blank" }),
    title: z.string().openapi({ example: "Richiesta non valida" }),
    status: z.number().int(),
    detail: z.string().openapi({ description: "Che cosa è successo e che cosa fare, in italiano." }),
    instance: z.string(),
    requestId: z.string().openapi({ description: "Il codice da comunicare al Fondo se l'errore si ripete." }),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "Per i dati non validi: un messaggio per campo." }),
  })
  .openapi("Problem", { description: "Un errore, come application/problem+json (RFC 9457)." });

const Progress = z.object({ done: z.number().int(), total: z.number().int() }).openapi("Progress");

const CODE = z
  .string({ error: "Ogni tipologia formativa è un codice, per esempio \"FP\"." })
  .max(20, "Ogni tipologia formativa è un codice di al più 20 caratteri.");

const BookingRequest = z
  .object(
    {
      trainingTypes: z
        .array(CODE, { error: "Indica le tipologie formative come elenco di codici." })
        .min(1, "Scegli almeno una tipologia formativa.")
        .max(50, "Indica al più 50 tipologie formative.")
        .openapi({ example: ["FP"] }),
      year: z
        .number({ error: "Indica l'anno di riferimento, per esempio 2026." })
        .int("Indica l'anno di riferimento, per esempio 2026.")
        .openapi({ example: 2026 }),
      format: z.enum(["xlsx", "csv"], { error: "Il formato è \"xlsx\" oppure \"csv\"." }).default("xlsx"),
      extraEmail: z
        .email("L'indirizzo e-mail aggiuntivo non è valido: correggilo o toglilo.")
        .max(320, "L'indirizzo e-mail aggiuntivo non è valido: correggilo o toglilo.")
        .nullable()
        .optional()
        .openapi({ description: "Un indirizzo in più da avvisare quando il file è pronto." }),
    },
    { error: "Il corpo è un oggetto JSON con i campi trainingTypes, year e, se vuoi, format ed extraEmail." },
  )
  .openapi("BookingRequest");

const Booking = z
  .object({
    id: z.number().int(),
    status: z.enum(["queued", "running", "ready", "failed", "expired"]),
    year: z.number().int(),
    trainingTypes: z.array(z.string()),
    format: z.enum(["xlsx", "csv"]),
    extraEmail: z.string().nullable(),
    progress: Progress,
    rowCount: z.number().int().nullable(),
    error: z.string().nullable(),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    url: z.url(),
    fileUrl: z.url().nullable().openapi({ description: "Presente quando il file è pronto." }),
  })
  .openapi("Booking");

const UploadForm = z
  .object({
    file: z
      .file({ error: "Allega il file compilato nel campo \"file\"." })
      .openapi({ type: "string", format: "binary", description: "Il file compilato (xlsx, xls, ods o csv)." }),
    year: z.coerce
      .number({ error: "Indica l'anno di riferimento nel campo \"year\", per esempio 2026." })
      .int("Indica l'anno di riferimento nel campo \"year\", per esempio 2026.")
      .openapi({ type: "integer", example: 2026 }),
  })
  .openapi("UploadForm");

const Upload = z
  .object({
    id: z.number().int(),
    status: z.enum(["queued", "running", "done", "done_with_errors", "failed"]),
    year: z.number().int(),
    fileName: z.string(),
    sheetName: z.string().nullable(),
    progress: Progress,
    counts: z
      .object({ total: z.number().int(), ok: z.number().int(), ko: z.number().int(), unchanged: z.number().int() })
      .nullable()
      .openapi({ description: "Le righe lette, applicate (OK), scartate (KO) e invariate, a elaborazione finita." }),
    reasons: z
      .array(z.object({ reason: z.string(), rows: z.number().int() }))
      .openapi({ description: "I motivi più frequenti delle righe scartate." }),
    error: z.string().nullable(),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    url: z.url(),
    outcomeUrl: z.url().nullable().openapi({ description: "Presente a elaborazione finita: il file con l'esito di ogni riga." }),
  })
  .openapi("Upload");

const Campaign = z
  .object({
    year: z.number().int(),
    opensOn: z.iso.date(),
    deadline: z.iso.date().openapi({ description: "La scadenza per la tua agenzia, proroga compresa." }),
    campaignDeadline: z.iso.date().openapi({ description: "La scadenza della campagna per tutte le agenzie." }),
    extension: z.object({ deadline: z.iso.date(), reason: z.string() }).nullable(),
    timezone: z.string(),
    state: z.enum(["not_open_yet", "open", "closed"]),
    daysLeft: z.number().int(),
    anonymised: z.boolean(),
  })
  .openapi("Campaign");

const DashboardQuery = z.object({
  year: z.coerce
    .number({ error: "L'anno è un numero, per esempio 2026." })
    .int("L'anno è un numero, per esempio 2026.")
    .optional()
    .openapi({ type: "integer", description: "La campagna; senza, l'ultima." }),
  trainingType: z
    .string()
    .max(20, "La tipologia formativa è un codice di al più 20 caratteri.")
    .optional()
    .openapi({ description: "Solo i progetti di una tipologia formativa." }),
});

const Dashboard = z
  .object({
    year: z.number().int(),
    trainingType: z.string().nullable(),
    trainees: z.number().int(),
    enrollments: z.number().int(),
    homogeneousEnrollments: z.number().int(),
    mixedEnrollments: z.number().int(),
    homogeneousClasses: z.number().int(),
    mixedClasses: z.number().int(),
    declaredByCategory: z.record(z.string(), z.number().int()),
    declaredNo: z.number().int(),
    undeclared: z.number().int(),
    placed: z.number().int(),
    byTrainingType: z.array(
      z.object({ trainingType: z.string(), enrollments: z.number().int(), placed: z.number().int(), minimum: z.number().int().nullable() }),
    ),
    projects: z.array(
      z.object({
        id: z.number().int(),
        code: z.string(),
        title: z.string(),
        trainingType: z.string(),
        enrollments: z.number().int(),
        mixed: z.number().int(),
        declaredMixed: z.number().int(),
        placed: z.number().int(),
        minimum: z.number().int().nullable(),
        belowMinimum: z.boolean(),
      }),
    ),
    projectsBelow: z.number().int(),
  })
  .openapi("Dashboard");

const IdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,15}$/)
    .openapi({ param: { name: "id", in: "path" }, example: "12" }),
});

const IdempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .optional()
    .openapi({
      description: "Una chiave scelta da te (per esempio un UUID): ripetendo la richiesta con la stessa chiave entro 24 ore ottieni la stessa risposta, senza prenotare o caricare due volte.",
    }),
});

// ---- Responses -------------------------------------------------------------------------

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const problem = (description: string) => ({ content: { "application/problem+json": { schema: Problem } }, description });
const fileBody = (description: string) => ({
  content: { "application/octet-stream": { schema: z.string().openapi({ type: "string", format: "binary" }) } },
  description,
});

const COMMON_PROBLEMS = {
  401: problem("Token mancante, non valido, scaduto o revocato; utenza o agenzia disabilitata; permesso Placement tolto."),
  429: problem("Troppe richieste con questo token: riprova dopo i secondi dell'intestazione Retry-After."),
} as const;

const STATUS_TITLES: Record<number, string> = {
  400: "Richiesta non valida",
  401: "Non autorizzato",
  403: "Non consentito",
  404: "Non trovato",
  409: "Non ancora pronto",
  410: "Non più disponibile",
  413: "File troppo grande",
  415: "Formato della richiesta non supportato",
  422: "Dati non accettati",
  429: "Troppe richieste",
  500: "Errore imprevisto",
  503: "Servizio non disponibile",
};

// What the libraries say in English (the start of their messages), said as the API says everything else.
const LIBRARY_DETAILS: [string, string][] = [
  ["Malformed JSON", "Il corpo della richiesta non è JSON valido: controlla la sintassi e l'intestazione Content-Type: application/json."],
  ["Malformed FormData", "Il corpo multipart/form-data non si legge: invia il file nel campo «file» e l'anno nel campo «year», come fa curl -F."],
  ["Unsupported Media Type", "Formato della richiesta non supportato: invia JSON (Content-Type: application/json) o, per i caricamenti, multipart/form-data."],
];

const STATUS_DETAILS: Record<number, string> = {
  401: "Token API mancante, non valido, scaduto o revocato: crea un token dalla pagina Profilo di Placement e invialo nell'intestazione «Authorization: Bearer <token>».",
  404: "L'oggetto richiesto non esiste, oppure non appartiene alla tua agenzia: controlla l'identificativo.",
};

function problemResponse(c: Context<AppEnv>, status: number, detail: string, errors?: { field: string; message: string }[]): Response {
  const body = {
    type: "about:blank",
    title: STATUS_TITLES[status] ?? "Errore",
    status,
    detail,
    instance: new URL(c.req.url).pathname,
    requestId: c.get("requestId"),
    ...(errors && { errors }),
  };
  const headers: Record<string, string> = { "Content-Type": "application/problem+json", "Cache-Control": "no-store" };
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="placement"';
  return new Response(JSON.stringify(body), { status, headers });
}

const invalid: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (result.success) return;
  // An id that is not a number names nothing: not found, as on the page.
  if (result.target === "param") return problemResponse(c, 404, STATUS_DETAILS[404]!);
  const errors = result.error.issues.map((issue) => ({ field: issue.path.join(".") || "body", message: issue.message }));
  return problemResponse(c, 422, errors.map((e) => e.message).join(" "), errors);
};

// ---- Representations -------------------------------------------------------------------

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function bookingBody(c: Context<AppEnv>, b: ExportListing): z.infer<typeof Booking> {
  const url = `${c.get("deps").config.BASE_URL}${API_PREFIX}/bookings/${b.id}`;
  return {
    id: b.id,
    status: b.status,
    year: b.year,
    trainingTypes: b.trainingTypes,
    format: b.format,
    extraEmail: b.extraEmail,
    progress: { done: b.progressDone, total: b.progressTotal },
    rowCount: b.rowCount,
    error: b.error,
    createdAt: b.createdAt.toISOString(),
    finishedAt: iso(b.finishedAt),
    url,
    fileUrl: b.status === "ready" ? `${url}/file` : null,
  };
}

function uploadBody(c: Context<AppEnv>, u: UploadListing): z.infer<typeof Upload> {
  const url = `${c.get("deps").config.BASE_URL}${API_PREFIX}/uploads/${u.id}`;
  const finished = u.status === "done" || u.status === "done_with_errors";
  return {
    id: u.id,
    status: u.status,
    year: u.year,
    fileName: u.fileName,
    sheetName: u.sheetName,
    progress: { done: u.progressDone, total: u.progressTotal },
    counts: finished ? { total: u.rowsTotal ?? 0, ok: u.rowsOk ?? 0, ko: u.rowsKo ?? 0, unchanged: u.rowsUnchanged ?? 0 } : null,
    reasons: u.topReasons ?? [],
    error: u.error,
    createdAt: u.createdAt.toISOString(),
    finishedAt: iso(u.finishedAt),
    url,
    outcomeUrl: finished && u.outcomePath ? `${url}/outcome` : null,
  };
}

/** The JSON answer of a POST that queued something: 202, with where to follow it. */
function accepted(body: { url: string }): Response {
  return new Response(JSON.stringify(body), {
    status: 202,
    headers: { "Content-Type": "application/json", Location: body.url, "Cache-Control": "no-store" },
  });
}

/**
 * Runs a POST once per Idempotency-Key: a retry with the same key and request gets the first
 * answer again (an error of the server frees the key, so that the retry can succeed).
 */
async function once(c: Context<AppEnv>, fingerprint: string, run: () => Promise<Response> | Response): Promise<Response> {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return run();
  if (!IDEMPOTENCY_KEY_SHAPE.test(key)) {
    return problemResponse(c, 400, "L'intestazione Idempotency-Key deve avere da 1 a 255 caratteri stampabili senza spazi, per esempio un UUID.");
  }
  const { db, clock } = c.get("deps");
  const token = c.get("apiToken")!;
  const claim = claimKey(db, clock, token.id, key, sha256(`${c.req.method} ${new URL(c.req.url).pathname} ${fingerprint}`));
  if (claim.kind === "running") {
    return problemResponse(c, 409, "Una richiesta con la stessa Idempotency-Key è ancora in corso: attendi qualche secondo e ripetila.");
  }
  if (claim.kind === "other_request") {
    return problemResponse(c, 422, "Questa Idempotency-Key è già stata usata per una richiesta diversa: usa una chiave nuova per ogni operazione.");
  }
  if (claim.kind === "replay") {
    const headers: Record<string, string> = {
      "Content-Type": claim.status >= 400 ? "application/problem+json" : "application/json",
      "Cache-Control": "no-store",
      "Idempotent-Replayed": "true",
    };
    if (claim.status === 202) headers.Location = (JSON.parse(claim.body) as { url: string }).url;
    return new Response(claim.body, { status: claim.status, headers });
  }
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    releaseKey(db, token.id, key);
    throw error;
  }
  // Once the work is done its key is never freed: should keeping the answer fail, a retry
  // is told to wait (until the claim's lease runs out) rather than done twice at once.
  if (response.status < 500) settleKey(db, token.id, key, response.status, await response.clone().text());
  else releaseKey(db, token.id, key);
  return response;
}

// ---- Routes ----------------------------------------------------------------------------

const security = [{ bearerAuth: [] }];
// A booking is a few lines of JSON: nothing larger is read.
const JSON_BODY_BYTES = 64 * 1024;

export const apiRoutes = new OpenAPIHono<AppEnv>({ defaultHook: invalid });

apiRoutes.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
  type: "http",
  scheme: "bearer",
  description: "Un token API creato dalla pagina Profilo (o con `placement token create`).",
});

// Public: the document describes the API, it holds no data.
apiRoutes.get("/openapi.json", (c) => {
  c.header("Cache-Control", "public, max-age=300");
  return c.json(apiDocument(c.get("deps").config.BASE_URL));
});

apiRoutes.use(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
});

// Every other route: a valid bearer token, within its rate.
apiRoutes.use(async (c, next) => {
  const { db, clock, apiLimiter } = c.get("deps");
  const bearer = /^Bearer ([^\s]{1,200})$/i.exec(c.req.header("Authorization") ?? "")?.[1];
  const caller = bearer ? tokenCaller(db, clock, bearer) : null;
  if (!caller) return problemResponse(c, 401, STATUS_DETAILS[401]!);
  const wait = apiLimiter.take(caller.token.id, clock.now().getTime());
  if (wait > 0) {
    const limited = problemResponse(c, 429, `Troppe richieste con questo token: riprova tra ${wait} secondi.`);
    limited.headers.set("Retry-After", String(wait));
    return limited;
  }
  c.set("user", caller.user);
  c.set("scope", scopeOf(caller.user));
  c.set("agencyName", caller.agencyName);
  c.set("apiToken", caller.token);
  await next();
});

// Answers built here (problem+json, 202 with Location, files) are plain Responses, which the
// library's typed responses do not describe; the tests check them against the schemas.
const raw = (response: Response) => response as never;

apiRoutes.openapi(
  createRoute({
    method: "post",
    path: "/bookings",
    tags: ["Prenotazioni"],
    summary: "Prenota il file da compilare",
    description: "Prenota il download delle iscrizioni dell'agenzia per un anno e alcune tipologie formative, come dalla pagina Placement. Il file si prepara in coda: segui la prenotazione all'indirizzo restituito.",
    security,
    middleware: [
      bodyLimit({ maxSize: JSON_BODY_BYTES, onError: (c) => problemResponse(c as Context<AppEnv>, 413, "Il corpo della richiesta è troppo grande: una prenotazione sta in poche righe di JSON.") }),
    ] as const,
    request: { headers: IdempotencyHeaders, body: { content: { "application/json": { schema: BookingRequest } }, required: true } },
    responses: {
      202: json(Booking, "Prenotazione in coda; l'intestazione Location è il suo indirizzo."),
      400: problem("Corpo non JSON o Idempotency-Key non valida."),
      ...COMMON_PROBLEMS,
      409: problem("Una richiesta con la stessa Idempotency-Key è ancora in corso."),
      413: problem("Il corpo della richiesta è troppo grande."),
      415: problem("Il corpo non è JSON (Content-Type: application/json)."),
      422: problem("Dati non accettati: campagna chiusa, tipologia sconosciuta, campo mancante, chiave già usata per un'altra richiesta."),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    return raw(await once(c, JSON.stringify(body), () => {
      const request = { trainingTypes: body.trainingTypes, year: body.year, format: body.format, extraEmail: body.extraEmail ?? null };
      const result = bookAgencyExport(c, request);
      if (!result.ok) {
        const errors = Object.entries(result.errors).map(([field, message]) => ({ field, message: message! }));
        return problemResponse(c, 422, errors.map((e) => e.message).join(" "), errors);
      }
      return accepted(bookingBody(c, getExport(c.get("deps").db, c.get("scope")!, result.id)!));
    }));
  },
);

apiRoutes.openapi(
  createRoute({
    method: "get",
    path: "/bookings/{id}",
    tags: ["Prenotazioni"],
    summary: "Stato di una prenotazione",
    security,
    request: { params: IdParams },
    responses: { 200: json(Booking, "La prenotazione: stato, avanzamento, righe."), ...COMMON_PROBLEMS, 404: problem("Non esiste o è di un'altra agenzia.") },
  }),
  (c) => {
    const booking = getExport(c.get("deps").db, c.get("scope")!, idParam(c, "id"));
    if (!booking) notFound();
    return c.json(bookingBody(c, booking), 200);
  },
);

apiRoutes.openapi(
  createRoute({
    method: "get",
    path: "/bookings/{id}/file",
    tags: ["Prenotazioni"],
    summary: "Scarica il file prenotato",
    security,
    request: { params: IdParams },
    responses: {
      200: fileBody("Il file (xlsx o csv), con il nome nell'intestazione Content-Disposition."),
      ...COMMON_PROBLEMS,
      404: problem("Non esiste o è di un'altra agenzia."),
      409: problem("Il file non è ancora pronto."),
      410: problem("Il file non è più disponibile: prenota un nuovo download."),
    },
  }),
  (c) => raw(exportFileResponse(c, getExport(c.get("deps").db, c.get("scope")!, idParam(c, "id")) ?? notFound())),
);

apiRoutes.openapi(
  createRoute({
    method: "post",
    path: "/uploads",
    tags: ["Caricamenti"],
    summary: "Carica il file compilato",
    description: "Carica il file compilato per un anno, come dalla pagina Placement: gli stessi controlli immediati, la stessa coda, la stessa e-mail a elaborazione finita.",
    security,
    // The size is enforced while the body arrives, before any of it is parsed.
    middleware: [
      async (c, next) => {
        const limit = bodyLimit({
          maxSize: uploadBodyBytes(c.get("deps").config),
          onError: (c) => problemResponse(c as Context<AppEnv>, 413, tooLargeMessage(c.get("deps").config.UPLOAD_MAX_MB)),
        });
        return limit(c, next);
      },
    ] as const,
    request: { headers: IdempotencyHeaders, body: { content: { "multipart/form-data": { schema: UploadForm } }, required: true } },
    responses: {
      202: json(Upload, "Caricamento in coda; l'intestazione Location è il suo indirizzo."),
      400: problem("Idempotency-Key non valida."),
      ...COMMON_PROBLEMS,
      409: problem("Una richiesta con la stessa Idempotency-Key è ancora in corso."),
      413: problem("Il file supera il limite di dimensione."),
      415: problem("Il corpo non è multipart/form-data."),
      422: problem("Il file non è accettato: la frase dice perché e che cosa fare, come sulla pagina."),
    },
  }),
  async (c) => {
    const form = c.req.valid("form");
    const bytes = new Uint8Array(await form.file.arrayBuffer());
    const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    return raw(await once(c, `${form.year} ${form.file.name} ${digest}`, async () => {
      const result = await receiveTraineeUpload(c, { name: form.file.name, bytes }, form.year);
      if (!result.ok) return problemResponse(c, 422, result.error);
      return accepted(uploadBody(c, getUpload(c.get("deps").db, c.get("scope")!, result.id)!));
    }));
  },
);

apiRoutes.openapi(
  createRoute({
    method: "get",
    path: "/uploads/{id}",
    tags: ["Caricamenti"],
    summary: "Stato di un caricamento",
    security,
    request: { params: IdParams },
    responses: {
      200: json(Upload, "Il caricamento: stato, avanzamento, conteggi e motivi più frequenti degli scarti."),
      ...COMMON_PROBLEMS,
      404: problem("Non esiste o è di un'altra agenzia."),
    },
  }),
  (c) => {
    const upload = getUpload(c.get("deps").db, c.get("scope")!, idParam(c, "id"));
    if (!upload) notFound();
    return c.json(uploadBody(c, upload), 200);
  },
);

apiRoutes.openapi(
  createRoute({
    method: "get",
    path: "/uploads/{id}/outcome",
    tags: ["Caricamenti"],
    summary: "Scarica il file con l'esito",
    security,
    request: { params: IdParams },
    responses: {
      200: fileBody("Il file caricato con l'esito di ogni riga (OK, KO, INVARIATO) e il motivo."),
      ...COMMON_PROBLEMS,
      404: problem("Non esiste o è di un'altra agenzia."),
      409: problem("L'elaborazione non è finita."),
      410: problem("Il file con l'esito non è più disponibile."),
    },
  }),
  (c) => raw(outcomeFileResponse(c, getUpload(c.get("deps").db, c.get("scope")!, idParam(c, "id")) ?? notFound())),
);

apiRoutes.openapi(
  createRoute({
    method: "get",
    path: "/campaigns",
    tags: ["Campagne"],
    summary: "Le campagne e le loro finestre",
    description: "Ogni campagna, dalla più recente, con la scadenza che vale per la tua agenzia (proroga compresa).",
    security,
    responses: { 200: json(z.array(Campaign), "Le campagne."), ...COMMON_PROBLEMS },
  }),
  (c) => {
    const { db, clock } = c.get("deps");
    const now = clock.now();
    const campaigns = campaignsFor(db, c.get("user")!.agencyId).map((campaign) => ({
      year: campaign.year,
      opensOn: campaign.opensOn,
      deadline: campaign.deadline,
      campaignDeadline: campaign.campaignDeadline,
      extension: campaign.extension && { deadline: campaign.extension.deadline, reason: campaign.extension.reason },
      timezone: campaign.timezone,
      state: campaignState(campaign, now),
      daysLeft: daysLeft(campaign, now),
      anonymised: campaign.anonymisedAt !== null,
    }));
    return c.json(campaigns, 200);
  },
);

apiRoutes.openapi(
  createRoute({
    method: "get",
    path: "/dashboard",
    tags: ["Campagne"],
    summary: "I numeri del cruscotto dell'agenzia",
    security,
    request: { query: DashboardQuery },
    responses: {
      200: json(Dashboard, "Le cifre del cruscotto, come sulla pagina Placement."),
      ...COMMON_PROBLEMS,
      404: problem("Non esiste una campagna per l'anno indicato."),
      422: problem("Anno o tipologia formativa non validi."),
    },
  }),
  (c) => {
    const { db } = c.get("deps");
    const query = c.req.valid("query");
    const years = listCampaigns(db).map((campaign) => campaign.year);
    const year = query.year ?? years[0];
    if (year === undefined) return raw(problemResponse(c, 404, "Non c'è ancora nessuna campagna: il Fondo non ne ha aperte."));
    if (!years.includes(year)) {
      return raw(problemResponse(c, 404, `Non esiste una campagna per l'anno ${year}: chiedi l'elenco con GET ${API_PREFIX}/campaigns.`));
    }
    const trainingType = query.trainingType ?? null;
    if (trainingType !== null && !activeCodes(db, "trainingTypes").some((t) => t.code === trainingType)) {
      const message = `Tipologia formativa sconosciuta: ${trainingType}.`;
      return raw(problemResponse(c, 422, message, [{ field: "trainingType", message }]));
    }
    const figures = agencyFigures(db, c.get("user")!.agencyId!, year, trainingType);
    return c.json({ ...figures, year, trainingType, declaredByCategory: Object.fromEntries(figures.declaredByCategory) }, 200);
  },
);

apiRoutes.all("/*", () => notFound());

apiRoutes.onError((error, c) => {
  const { log } = c.get("deps");
  if (error instanceof HTTPException) {
    const status = error.status;
    const library = LIBRARY_DETAILS.find(([start]) => error.message.startsWith(start))?.[1];
    return problemResponse(c, status, library ?? (error.message || STATUS_DETAILS[status] || STATUS_TITLES[status] || "Richiesta non valida."));
  }
  if (isStorageFull(error)) {
    log.error("storage full: nothing could be saved", { id: c.get("requestId"), error: String(error) });
    const full = problemResponse(c, 503, STORAGE_FULL_MESSAGE);
    full.headers.set("Retry-After", "60");
    return full;
  }
  log.error("unhandled error", { id: c.get("requestId"), error: error instanceof Error ? (error.stack ?? String(error)) : String(error) });
  return problemResponse(c, 500, `Si è verificato un errore imprevisto. Riprova tra qualche minuto; se si ripete, comunica al Fondo il codice ${c.get("requestId")}.`);
});

// Made once per public address (one per process): it is public, so it must cost nothing to ask.
const documents = new Map<string, ReturnType<typeof buildDocument>>();

/** The OpenAPI 3.1 document of the API, its paths under /api/v1. */
export function apiDocument(baseUrl: string) {
  let document = documents.get(baseUrl);
  if (!document) documents.set(baseUrl, (document = buildDocument(baseUrl)));
  return document;
}

function buildDocument(baseUrl: string) {
  const document = apiRoutes.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Placement API",
      version: "1",
      description: "Il giro di Placement (prenota il file, scaricalo, carica il file compilato, leggi l'esito) per i sistemi delle agenzie, con un token API.",
    },
    servers: [{ url: baseUrl }],
  });
  return { ...document, paths: Object.fromEntries(Object.entries(document.paths ?? {}).map(([path, item]) => [`${API_PREFIX}${path}`, item])) };
}
