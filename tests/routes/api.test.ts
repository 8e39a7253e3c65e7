import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { eq } from "drizzle-orm";
import * as XLSX from "xlsx";
import { users } from "../../src/db/schema.ts";
import { drainExports } from "../../src/jobs/exports.ts";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { apiDocument, apiRoutes } from "../../src/routes/api.ts";
import { createApiToken } from "../../src/services/api-tokens.ts";
import { agencyFigures } from "../../src/services/dashboard.ts";
import { sha256 } from "../../src/services/secrets.ts";
import { executable, passwordProtected, truncated, withMacros, zipBomb } from "../helpers/bad-files.ts";
import { signedIn, tables, upload as pageUpload, type Queries } from "../helpers/flows.ts";
import { documentErrors, responseChecker, type OpenApiDocument } from "../helpers/openapi.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// Imports run in a worker thread that spawns a child process per file; sign-ins hash passwords.
setDefaultTimeout(60_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let one: Queries["one"];
let all: Queries["all"];
const document = apiDocument("http://localhost:3000") as unknown as OpenApiDocument;
const check = responseChecker(document);

beforeAll(async () => {
  t = await createTestApp();
  f = fixtures(t.db);
  ({ one, all } = tables(t));
});
afterAll(() => t.close());

const userId = (email: string) => one<{ id: number }>("SELECT id FROM users WHERE email = ?", email).id;
const account = (app: TestApp, email: string) => app.db.select().from(users).where(eq(users.email, email)).get()!;

/** A token of the user, made by the service the Profilo page uses. */
function tokenOf(app: TestApp, email: string, name = "gestionale", days = 90): string {
  const made = createApiToken(app.db, app.clock, account(app, email), { name, days });
  if (!made.ok) throw new Error(made.error);
  return made.token;
}

type Call = { method?: string; json?: unknown; form?: FormData; headers?: Record<string, string> };

/** A call to the API with the bearer token; the route template names the answer's schema. */
async function api(app: TestApp, token: string | null, path: string, call: Call = {}) {
  const headers = new Headers(call.headers);
  if (token !== null) headers.set("Authorization", `Bearer ${token}`);
  let body: BodyInit | undefined;
  if (call.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(call.json);
  } else if (call.form) body = call.form;
  const response = await app.app.request(`/api/v1${path}`, { method: call.method ?? (body ? "POST" : "GET"), headers, body }, {
    requestIP: () => ({ address: "192.0.2.50" }),
  });
  return response;
}

/** The answer's JSON, checked against the schema the document declares for it. */
async function answer(response: Response, route: string, method = "get") {
  const type = (response.headers.get("Content-Type") ?? "").split(";")[0]!;
  const body = await response.json();
  expect(check(`/api/v1${route}`, method, response.status, type, body)).toEqual([]);
  return body as Record<string, any>;
}

function uploadForm(bytes: Uint8Array, name = "compilato.xlsx", year = "2019") {
  const form = new FormData();
  form.set("year", year);
  form.set("file", new File([bytes as BlobPart], name));
  return form;
}

const bookingRequest = { trainingTypes: ["BASE", "PROF"], year: 2019, format: "xlsx" };

describe("the round trip by API", () => {
  test("book, follow, download, upload, follow, read the outcome: as on the page, audited with the token's name", async () => {
    const token = tokenOf(t, f.rpaA, "HR sede centrale");
    const booked = await api(t, token, "/bookings", { json: bookingRequest });
    expect(booked.status).toBe(202);
    const booking = await answer(booked, "/bookings", "post");
    expect(booked.headers.get("Location")).toBe(booking.url);
    expect(booking.url).toBe(`http://localhost:3000/api/v1/bookings/${booking.id}`);
    expect(booking.status).toBe("queued");
    expect(booking.fileUrl).toBeNull();
    expect(one<{ agency_id: number; user_id: number }>("SELECT agency_id, user_id FROM export_jobs WHERE id = ?", booking.id)).toEqual({
      agency_id: f.agencyA.id,
      user_id: userId(f.rpaA),
    });

    await drainExports(t.deps);
    const ready = await answer(await api(t, token, `/bookings/${booking.id}`), "/bookings/{id}");
    expect(ready.status).toBe("ready");
    expect(ready.rowCount).toBeGreaterThan(0);
    expect(ready.fileUrl).toBe(`${booking.url}/file`);

    const file = await api(t, token, `/bookings/${booking.id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers.get("Content-Disposition")).toContain(`attachment; filename="`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    expect(XLSX.read(bytes).SheetNames).toContain("Allievi");

    const uploaded = await api(t, token, "/uploads", { form: uploadForm(bytes, "ricaricato.xlsx") });
    expect(uploaded.status).toBe(202);
    const queued = await answer(uploaded, "/uploads", "post");
    expect(queued).toMatchObject({ status: "queued", fileName: "ricaricato.xlsx", year: 2019, counts: null, outcomeUrl: null });
    expect(uploaded.headers.get("Location")).toBe(queued.url);

    await drainUploads(t.deps);
    const done = await answer(await api(t, token, `/uploads/${queued.id}`), "/uploads/{id}");
    expect(done.status).toBe("done");
    expect(done.counts).toEqual({ total: ready.rowCount, ok: 0, ko: 0, unchanged: ready.rowCount });
    expect(done.reasons).toEqual([]);
    const outcome = await api(t, token, `/uploads/${queued.id}/outcome`);
    expect(outcome.status).toBe(200);
    expect(XLSX.read(new Uint8Array(await outcome.arrayBuffer())).SheetNames).toContain("Allievi");

    const audited = all<{ action: string; detail: string; user_id: number }>(
      "SELECT action, detail, user_id FROM audit_log WHERE action IN ('export_book', 'export_download', 'upload', 'outcome_download') ORDER BY id",
    );
    expect(audited.map((a) => a.action)).toEqual(["export_book", "export_download", "upload", "outcome_download"]);
    for (const entry of audited) {
      expect(JSON.parse(entry.detail ?? "{}").token).toBe("HR sede centrale");
      expect(entry.user_id).toBe(userId(f.rpaA));
    }
    // The same mail as the page: the booker hears that the file is ready and that the upload is done.
    expect(one<{ n: number }>("SELECT count(*) AS n FROM mail_outbox WHERE recipients LIKE ?", `%${f.rpaA}%`).n).toBeGreaterThanOrEqual(2);
  });

  test("a file with refused rows says how many and the most frequent reasons, without the values", async () => {
    const token = tokenOf(t, f.rpaA);
    const booking = await answer(await api(t, token, "/bookings", { json: { ...bookingRequest, trainingTypes: ["BASE"] } }), "/bookings", "post");
    await drainExports(t.deps);
    const bytes = new Uint8Array(await (await api(t, token, `/bookings/${booking.id}/file`)).arrayBuffer());
    const book = XLSX.read(bytes);
    const rows = XLSX.utils.sheet_to_json<unknown[]>(book.Sheets["Allievi"]!, { header: 1, defval: "" });
    const header = rows[0] as string[];
    const placement = header.findIndex((h) => /^Placement/.test(String(h)));
    for (const row of rows.slice(1, 4)) (row as unknown[])[placement] = "FORSE";
    book.Sheets["Allievi"] = XLSX.utils.aoa_to_sheet(rows);
    const edited = new Uint8Array(XLSX.write(book, { type: "array", bookType: "xlsx" }));
    const queued = await answer(await api(t, token, "/uploads", { form: uploadForm(edited) }), "/uploads", "post");
    await drainUploads(t.deps);
    const done = await answer(await api(t, token, `/uploads/${queued.id}`), "/uploads/{id}");
    expect(done.status).toBe("done_with_errors");
    expect(done.counts.ko).toBe(3);
    expect(done.reasons.length).toBeGreaterThan(0);
    expect(done.reasons[0].rows).toBe(3);
    expect(JSON.stringify(done.reasons)).not.toContain("FORSE");
  });

  test("campaigns with the caller's own deadline, and the dashboard's figures", async () => {
    const token = tokenOf(t, f.rpaA);
    const campaigns = await answer(await api(t, token, "/campaigns"), "/campaigns");
    const campaign = one<{ year: number; opens_on: string; deadline: string }>("SELECT year, opens_on, deadline FROM campaigns ORDER BY year DESC LIMIT 1");
    expect(campaigns[0]).toMatchObject({ year: campaign.year, opensOn: campaign.opens_on, deadline: campaign.deadline, extension: null, state: "open", anonymised: false });

    // A proroga for agency A moves its deadline only.
    t.db.$client.run("INSERT INTO campaign_extensions (year, agency_id, deadline, reason, granted_at) VALUES (?, ?, '2099-12-31', 'Trasloco', 0)", [campaign.year, f.agencyA.id]);
    try {
      const extended = await answer(await api(t, token, "/campaigns"), "/campaigns");
      expect(extended[0]).toMatchObject({ deadline: "2099-12-31", campaignDeadline: campaign.deadline, extension: { deadline: "2099-12-31", reason: "Trasloco" } });
      const other = await answer(await api(t, tokenOf(t, f.rpaB), "/campaigns"), "/campaigns");
      expect(other[0]).toMatchObject({ deadline: campaign.deadline, extension: null });
    } finally {
      t.db.$client.run("DELETE FROM campaign_extensions");
    }

    const figures = await answer(await api(t, token, `/dashboard?year=${campaign.year}`), "/dashboard");
    const expected = agencyFigures(t.db, f.agencyA.id, campaign.year, null);
    expect(figures).toMatchObject({ year: campaign.year, trainees: expected.trainees, enrollments: expected.enrollments, placed: expected.placed, projectsBelow: expected.projectsBelow });
    expect(figures.projects.length).toBe(expected.projects.length);
    expect(figures.declaredByCategory).toEqual(Object.fromEntries(expected.declaredByCategory));
    const byType = await answer(await api(t, token, `/dashboard?year=${campaign.year}&trainingType=BASE`), "/dashboard");
    expect(byType.projects.every((p: { trainingType: string }) => p.trainingType === "BASE")).toBe(true);

    const unknownYear = await api(t, token, "/dashboard?year=1990");
    expect(unknownYear.status).toBe(404);
    expect((await answer(unknownYear, "/dashboard")).detail).toContain("Non esiste una campagna per l'anno 1990");
    const unknownType = await api(t, token, `/dashboard?trainingType=NESSUNA`);
    expect(unknownType.status).toBe(422);
    expect((await answer(unknownType, "/dashboard")).detail).toBe("Tipologia formativa sconosciuta: NESSUNA.");
  });
});

describe("who the API answers", () => {
  const refused = async (response: Response) => {
    expect(response.status).toBe(401);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    expect(response.headers.get("WWW-Authenticate")).toContain("Bearer");
    const body = await answer(response, "/campaigns");
    expect(body.detail).toContain("Token API mancante, non valido, scaduto o revocato");
    return body;
  };

  test("no token, a malformed one, an unknown one, a session cookie without a token: 401, whatever the cookies", async () => {
    await refused(await api(t, null, "/campaigns"));
    await refused(await api(t, "", "/campaigns"));
    await refused(await api(t, "plc_corto", "/campaigns"));
    await refused(await api(t, `plc_${"A".repeat(43)}`, "/campaigns"));
    await refused(await api(t, `plc_${"A".repeat(43)}' OR '1'='1`, "/campaigns"));
    const client = await signedIn(t, f.rpaA);
    const withCookie = await client.request("/api/v1/campaigns");
    await refused(withCookie);
    // Not even a write with the page's CSRF token: the API has no cookie sign-in at all.
    const write = await client.request("/api/v1/bookings", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": client.csrfToken },
      body: JSON.stringify(bookingRequest),
    });
    await refused(write);
  });

  test("a bearer token with another user's session cookie acts as the token's user only", async () => {
    const client = await signedIn(t, f.rpaB);
    const headers = { Authorization: `Bearer ${tokenOf(t, f.rpaA)}`, "Content-Type": "application/json" };
    const booked = await client.request("/api/v1/bookings", { method: "POST", headers, body: JSON.stringify(bookingRequest) });
    expect(booked.status).toBe(202);
    const { id } = (await booked.json()) as { id: number };
    expect(one<{ agency_id: number }>("SELECT agency_id FROM export_jobs WHERE id = ?", id).agency_id).toBe(f.agencyA.id);
  });

  test("a revoked or expired token; a disabled user's or agency's; a user whose permission was taken away: 401 while it lasts", async () => {
    const revoked = tokenOf(t, f.rpaA);
    t.db.$client.run("UPDATE api_tokens SET revoked_at = 1, revoked_by = 'user' WHERE token_hash = ?", [sha256(revoked)]);
    await refused(await api(t, revoked, "/campaigns"));

    const short = tokenOf(t, f.rpaA, "breve", 1);
    expect((await api(t, short, "/campaigns")).status).toBe(200);
    t.clock.advance(86_400_000 + 1000);
    try {
      await refused(await api(t, short, "/campaigns"));
    } finally {
      t.clock.advance(-(86_400_000 + 1000));
    }

    const token = tokenOf(t, f.referentA);
    expect((await api(t, token, "/campaigns")).status).toBe(200);
    for (const [disable, enable] of [
      ["UPDATE users SET disabled = 1 WHERE email = ?", "UPDATE users SET disabled = 0 WHERE email = ?"],
      ["UPDATE users SET placement_permission = 0 WHERE email = ?", "UPDATE users SET placement_permission = 1 WHERE email = ?"],
      [
        "UPDATE agencies SET disabled = 1 WHERE id = (SELECT agency_id FROM users WHERE email = ?)",
        "UPDATE agencies SET disabled = 0 WHERE id = (SELECT agency_id FROM users WHERE email = ?)",
      ],
    ] as const) {
      t.db.$client.run(disable, [f.referentA]);
      try {
        await refused(await api(t, token, "/campaigns"));
        await refused(await api(t, token, "/bookings", { json: bookingRequest }));
      } finally {
        t.db.$client.run(enable, [f.referentA]);
      }
      // Disabling is not revoking: the token answers again once the state is undone.
      expect((await api(t, token, "/campaigns")).status).toBe(200);
    }
  });

  test("a user without the Placement permission, and the fund's operators, cannot have a token", async () => {
    const operator = account(t, f.operatorA);
    expect(operator.placementPermission).toBe(false);
    const refusedOperator = createApiToken(t.db, t.clock, operator, { name: "prova", days: 30 });
    expect(refusedOperator).toMatchObject({ ok: false, error: expect.stringContaining("serve il permesso Placement") });
    const fund = account(t, f.fund);
    expect(createApiToken(t.db, t.clock, fund, { name: "prova", days: 30 })).toMatchObject({ ok: false, error: expect.stringContaining("operatori del Fondo") });
    expect(createApiToken(t.db, t.clock, operator, { name: "prova", days: 366 }).ok).toBe(false);
  });

  test("another agency's bookings and uploads are 404, their data never shown", async () => {
    const tokenB = tokenOf(t, f.rpaB);
    const bookingB = await answer(await api(t, tokenB, "/bookings", { json: bookingRequest }), "/bookings", "post");
    await drainExports(t.deps);
    const fileB = new Uint8Array(await (await api(t, tokenB, `/bookings/${bookingB.id}/file`)).arrayBuffer());
    const uploadB = await answer(await api(t, tokenB, "/uploads", { form: uploadForm(fileB) }), "/uploads", "post");
    await drainUploads(t.deps);
    const tokenA = tokenOf(t, f.rpaA);
    for (const [path, route] of [
      [`/bookings/${bookingB.id}`, "/bookings/{id}"],
      [`/bookings/${bookingB.id}/file`, "/bookings/{id}/file"],
      [`/uploads/${uploadB.id}`, "/uploads/{id}"],
      [`/uploads/${uploadB.id}/outcome`, "/uploads/{id}/outcome"],
      ["/bookings/99999", "/bookings/{id}"],
      ["/bookings/abc", "/bookings/{id}"],
    ] as const) {
      const response = await api(t, tokenA, path);
      expect(response.status).toBe(404);
      const body = await answer(response, route);
      expect(body.detail).toContain("non appartiene alla tua agenzia");
      expect(JSON.stringify(body)).not.toContain(f.agencyB.code);
    }
    const unknown = await api(t, tokenA, "/nessuna-risorsa");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("Content-Type")).toBe("application/problem+json");
  });
});

describe("bad requests", () => {
  test("not JSON, missing fields, unknown types, a closed campaign: problem+json with the sentence", async () => {
    const token = tokenOf(t, f.rpaA);
    const before = one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n;
    const notJson = await t.app.request("/api/v1/bookings", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: "{ tipologie: ",
    });
    expect(notJson.status).toBe(400);
    expect((await answer(notJson, "/bookings", "post")).detail).toContain("non è JSON valido");

    const missing = await api(t, token, "/bookings", { json: { trainingTypes: [] } });
    expect(missing.status).toBe(422);
    const body = await answer(missing, "/bookings", "post");
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["trainingTypes", "year"]);
    expect(body.detail).toContain("Scegli almeno una tipologia formativa.");

    const unknown = await api(t, token, "/bookings", { json: { ...bookingRequest, trainingTypes: ["NESSUNA"] } });
    expect(unknown.status).toBe(422);
    expect((await answer(unknown, "/bookings", "post")).detail).toBe("Tipologia formativa sconosciuta: NESSUNA.");

    const closed = await api(t, token, "/bookings", { json: { ...bookingRequest, year: 2001 } });
    expect(closed.status).toBe(422);
    expect((await answer(closed, "/bookings", "post")).detail).toBe("Non esiste una campagna per l'anno 2001: scegli un altro anno.");

    const form = await api(t, token, "/bookings", { form: uploadForm(new Uint8Array(4)) });
    expect(form.status).toBe(415);
    expect((await answer(form, "/bookings", "post")).detail).toContain("invia JSON");
    expect(one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n).toBe(before);
  });

  test("a hostile file by API gets the page's own refusal, nothing queued", async () => {
    const token = tokenOf(t, f.rpaA);
    const booking = await answer(await api(t, token, "/bookings", { json: { ...bookingRequest, trainingTypes: ["BASE"] } }), "/bookings", "post");
    await drainExports(t.deps);
    const good = new Uint8Array(await (await api(t, token, `/bookings/${booking.id}/file`)).arrayBuffer());
    const clerk = await signedIn(t, f.rpaA);
    const files: [string, Uint8Array][] = [
      ["programma.xlsx", executable("MZ")],
      ["macro.xlsx", withMacros(good)],
      ["protetto.xlsx", passwordProtected()],
      ["troncato.xlsx", truncated(good)],
      ["bomba.xlsx", zipBomb(good)],
      ["vuoto.xlsx", new Uint8Array(0)],
      ["note.txt", new TextEncoder().encode("non è un foglio")],
    ];
    for (const [name, bytes] of files) {
      const before = one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n;
      const response = await api(t, token, "/uploads", { form: uploadForm(bytes, name) });
      expect(response.status).toBe(422);
      const { detail } = await answer(response, "/uploads", "post");
      const page = await pageUpload(clerk, bytes as Uint8Array<ArrayBuffer>, name);
      expect(page.status).toBe(422);
      expect(page.html).toContain(htmlText(detail));
      expect(one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n).toBe(before);
    }
    const refusals = all<{ detail: string }>("SELECT detail FROM audit_log WHERE action = 'upload_refused' AND detail LIKE '%\"token\"%'");
    expect(refusals.length).toBe(files.length);

    const noFile = new FormData();
    noFile.set("year", "2019");
    const missing = await api(t, token, "/uploads", { form: noFile });
    expect(missing.status).toBe(422);
    expect((await answer(missing, "/uploads", "post")).detail).toContain("Allega il file compilato");
  });

  test("an upload larger than the limit is cut off while it arrives: 413 with the page's sentence", async () => {
    const small = await createTestApp({ env: { UPLOAD_MAX_MB: "1" } });
    try {
      const token = tokenOf(small, fixtures(small.db).rpaA);
      const big = new Uint8Array(2 * 1024 * 1024);
      const response = await api(small, token, "/uploads", { form: uploadForm(big) });
      expect(response.status).toBe(413);
      expect((await answer(response, "/uploads", "post")).detail).toContain("Il file supera il limite di 1 MB");
      // Without Content-Length: the limit is counted on the bytes themselves.
      const stream = new Response(uploadForm(big));
      const streamed = await small.app.request("/api/v1/uploads", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": stream.headers.get("Content-Type")!, "Transfer-Encoding": "chunked" },
        body: stream.body,
        duplex: "half",
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(tables(small).one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n).toBe(0);
    } finally {
      small.close();
    }
  });
});

/** A sentence as hono/jsx writes it into a page. */
const htmlText = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");

describe("Idempotency-Key", () => {
  test("the same POST twice with one key books once and answers the same; another request with that key is refused", async () => {
    const token = tokenOf(t, f.rpaA);
    const before = one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n;
    const headers = { "Idempotency-Key": "c0ffee00-0000-4000-8000-000000000001" };
    const first = await api(t, token, "/bookings", { json: bookingRequest, headers });
    const second = await api(t, token, "/bookings", { json: bookingRequest, headers });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.headers.get("Idempotent-Replayed")).toBe("true");
    expect(second.headers.get("Location")).toBe(first.headers.get("Location"));
    expect((await answer(second, "/bookings", "post")).id).toBe((await first.json()).id);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n).toBe(before + 1);

    const other = await api(t, token, "/bookings", { json: { ...bookingRequest, format: "csv" }, headers });
    expect(other.status).toBe(422);
    expect((await answer(other, "/bookings", "post")).detail).toContain("già stata usata per una richiesta diversa");

    // Keys belong to their token: another system's same key is its own.
    const mine = await api(t, tokenOf(t, f.referentA), "/bookings", { json: bookingRequest, headers });
    expect(mine.status).toBe(202);
    expect(mine.headers.get("Idempotent-Replayed")).toBeNull();
    expect(one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n).toBe(before + 2);

    const bad = await api(t, token, "/bookings", { json: bookingRequest, headers: { "Idempotency-Key": "con spazi" } });
    expect(bad.status).toBe(400);
    expect((await answer(bad, "/bookings", "post")).detail).toContain("Idempotency-Key");

    // A day later the key is forgotten: the same request books again.
    t.clock.advance(25 * 3_600_000);
    try {
      const later = await api(t, token, "/bookings", { json: bookingRequest, headers });
      expect(later.status).toBe(202);
      expect(later.headers.get("Idempotent-Replayed")).toBeNull();
    } finally {
      t.clock.advance(-25 * 3_600_000);
    }
  });

  test("an upload retried with its key is queued once, and a refusal is answered again as it was", async () => {
    const token = tokenOf(t, f.rpaA);
    const booking = await answer(await api(t, token, "/bookings", { json: { ...bookingRequest, trainingTypes: ["BASE"] } }), "/bookings", "post");
    await drainExports(t.deps);
    const bytes = new Uint8Array(await (await api(t, token, `/bookings/${booking.id}/file`)).arrayBuffer());
    const before = one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n;
    const headers = { "Idempotency-Key": "caricamento-42" };
    const first = await api(t, token, "/uploads", { form: uploadForm(bytes), headers });
    const retry = await api(t, token, "/uploads", { form: uploadForm(bytes), headers });
    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect((await retry.json()).id).toBe((await first.json()).id);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM import_jobs").n).toBe(before + 1);

    const refusedHeaders = { "Idempotency-Key": "caricamento-43" };
    const refused = await api(t, token, "/uploads", { form: uploadForm(executable("ELF")), headers: refusedHeaders });
    const again = await api(t, token, "/uploads", { form: uploadForm(executable("ELF")), headers: refusedHeaders });
    expect(refused.status).toBe(422);
    expect(again.status).toBe(422);
    expect(again.headers.get("Content-Type")).toBe("application/problem+json");
    expect((await again.json()).detail).toBe((await refused.json()).detail);
    await drainUploads(t.deps);
  });
});

describe("rate limit", () => {
  test("past its rate a token gets 429 with Retry-After; another token is not slowed; the rate comes back", async () => {
    const limited = await createTestApp({ env: { API_RATE_PER_MINUTE: "3" } });
    try {
      const g = fixtures(limited.db);
      const token = tokenOf(limited, g.rpaA);
      for (let i = 0; i < 3; i++) expect((await api(limited, token, "/campaigns")).status).toBe(200);
      const over = await api(limited, token, "/campaigns");
      expect(over.status).toBe(429);
      expect(Number(over.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
      expect((await answer(over, "/campaigns")).detail).toContain("Troppe richieste");
      expect((await api(limited, tokenOf(limited, g.rpaB), "/campaigns")).status).toBe(200);
      limited.clock.advance(Number(over.headers.get("Retry-After")) * 1000);
      expect((await api(limited, token, "/campaigns")).status).toBe(200);
    } finally {
      limited.close();
    }
  });
});

describe("tokens are revoked for good", () => {
  const stateOf = (token: string) =>
    one<{ revoked_by: string | null }>("SELECT revoked_by FROM api_tokens WHERE token_hash = ?", sha256(token)).revoked_by;

  test("when the user changes the password, or is given a temporary one", async () => {
    const g = await createTestApp();
    try {
      const h = fixtures(g.db);
      const token = tokenOf(g, h.referentA);
      const other = tokenOf(g, h.rpaA);
      const client = await signedIn(g, h.referentA, { page: "/profilo/password" });
      const changed = await client.post("/profilo/password", { attuale: "demo1234", nuova: "una-password-nuova", ripeti: "una-password-nuova" });
      expect(changed.status).toBe(200);
      expect((await api(g, token, "/campaigns")).status).toBe(401);
      expect(tables(g).one<{ revoked_by: string }>("SELECT revoked_by FROM api_tokens WHERE token_hash = ?", sha256(token)).revoked_by).toBe("password");
      expect((await api(g, other, "/campaigns")).status).toBe(200);

      const second = tokenOf(g, h.rpaA, "secondo");
      const fund = await signedIn(g, h.fund, { page: `/amministrazione/agenzie/${h.agencyA.id}` });
      const reset = await fund.post(`/amministrazione/utenti/${tables(g).one<{ id: number }>("SELECT id FROM users WHERE email = ?", h.rpaA).id}/password`, {});
      expect(reset.status).toBe(200);
      expect((await api(g, other, "/campaigns")).status).toBe(401);
      expect((await api(g, second, "/campaigns")).status).toBe(401);
    } finally {
      g.close();
    }
  });

  test("when the fund makes two-factor sign-in mandatory for the agency: its tokens only", async () => {
    const tokenA = tokenOf(t, f.referentA);
    const tokenB = tokenOf(t, f.rpaB);
    const fund = await signedIn(t, f.fund, { page: `/amministrazione/agenzie/${f.agencyA.id}` });
    const agency = one<{ name: string }>("SELECT name FROM agencies WHERE id = ?", f.agencyA.id);
    const saved = await fund.post(`/amministrazione/agenzie/${f.agencyA.id}`, { nome: agency.name, due_passaggi: "1" });
    expect(saved.status).toBe(200);
    expect(await saved.text()).toMatch(/revocat[io] \d+ token API|revocato 1 token API/);
    try {
      expect((await api(t, tokenA, "/campaigns")).status).toBe(401);
      expect(stateOf(tokenA)).toBe("two_factor");
      expect((await api(t, tokenB, "/campaigns")).status).toBe(200);
      // Saving the agency again, still mandatory, revokes nothing more: tokens made since (with the second factor) stay.
      t.db.$client.run("UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE email = ?", [f.referentA]);
      const made = tokenOf(t, f.referentA, "dopo");
      await fund.post(`/amministrazione/agenzie/${f.agencyA.id}`, { nome: agency.name, due_passaggi: "1" });
      expect((await api(t, made, "/campaigns")).status).toBe(200);
    } finally {
      t.db.$client.run("UPDATE agencies SET two_factor_required = 0 WHERE id = ?", [f.agencyA.id]);
      t.db.$client.run("UPDATE users SET totp_secret = NULL WHERE email = ?", [f.referentA]);
    }
  });

  test("when the fund revokes it from its list", async () => {
    const token = tokenOf(t, f.rpaA, "da revocare");
    const id = one<{ id: number }>("SELECT id FROM api_tokens WHERE token_hash = ?", sha256(token)).id;
    const fund = await signedIn(t, f.fund, { page: "/amministrazione/token" });
    const list = await (await fund.get("/amministrazione/token")).text();
    expect(list).toContain("da revocare");
    expect(list).toContain(f.rpaA);
    expect(list).not.toContain(token);
    const revoked = await fund.post(`/amministrazione/token/${id}/revoca`, {});
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toContain("revocato");
    expect((await api(t, token, "/campaigns")).status).toBe(401);
    expect(stateOf(token)).toBe("fund");
    expect((await fund.post(`/amministrazione/token/${id}/revoca`, {})).status).toBe(404);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action = 'api_token_revoke' AND target = ?", `token:${id}`).n).toBe(1);
  });
});

describe("tokens on the Profilo page", () => {
  test("made with the password, shown once, stored as a hash, listed with its use, revoked by its user only", async () => {
    const client = await signedIn(t, f.referentA, { page: "/profilo" });
    const page = await (await client.get("/profilo")).text();
    expect(page).toContain("Token API");
    expect(page).toContain('href="/profilo/api"');

    const wrong = await client.post("/profilo/token", { nome: "Gestionale", giorni: "30", password: "sbagliata" });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain("La password non è corretta");
    const tooLong = await client.post("/profilo/token", { nome: "Gestionale", giorni: "400", password: "demo1234" });
    expect(tooLong.status).toBe(422);
    expect(await tooLong.text()).toContain("La durata va da 1 a 365 giorni.");
    const before = one<{ n: number }>("SELECT count(*) AS n FROM api_tokens").n;

    const made = await client.post("/profilo/token", { nome: "Gestionale", giorni: "30", password: "demo1234" });
    expect(made.status).toBe(200);
    expect(made.headers.get("Cache-Control")).toContain("no-store");
    const html = await made.text();
    const token = html.match(/<code id="new-token">(plc_[A-Za-z0-9_-]{43})<\/code>/)?.[1];
    expect(token).toBeDefined();
    expect(one<{ n: number }>("SELECT count(*) AS n FROM api_tokens").n).toBe(before + 1);
    const row = one<{ id: number; token_hash: string; expires_at: number; created_at: number }>("SELECT * FROM api_tokens ORDER BY id DESC LIMIT 1");
    expect(row.token_hash).toBe(sha256(token!));
    expect(row.expires_at - row.created_at).toBe(30 * 86_400_000);
    expect(JSON.stringify(all("SELECT * FROM api_tokens"))).not.toContain(token!);
    expect(JSON.stringify(all("SELECT * FROM audit_log"))).not.toContain(token!);

    const again = await (await client.get("/profilo")).text();
    expect(again).toContain("Gestionale");
    expect(again).not.toContain(token!);
    expect(again).toContain("mai");
    expect((await api(t, token!, "/campaigns")).status).toBe(200);
    expect(one<{ last_used_at: number | null }>("SELECT last_used_at FROM api_tokens WHERE id = ?", row.id).last_used_at).toBe(t.clock.now().getTime());

    // Another user's token cannot be revoked from this Profilo.
    const othersId = one<{ id: number }>("SELECT id FROM api_tokens WHERE token_hash = ?", sha256(tokenOf(t, f.rpaA))).id;
    expect((await client.post(`/profilo/token/${othersId}/revoca`, {})).status).toBe(404);
    const revoked = await client.post(`/profilo/token/${row.id}/revoca`, {});
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toContain("Token «Gestionale» revocato");
    expect((await api(t, token!, "/campaigns")).status).toBe(401);
    expect(all<{ action: string }>("SELECT action FROM audit_log WHERE target = ?", `token:${row.id}`).map((a) => a.action)).toEqual(["api_token_create", "api_token_revoke"]);
  });

  test("an operator without the permission is told whom to ask; the fund's Profilo has no tokens", async () => {
    const operator = await signedIn(t, f.operatorA, { page: "/profilo" });
    const page = await (await operator.get("/profilo")).text();
    const rpaName = one<{ name: string }>("SELECT name FROM users WHERE email = ?", f.rpaA).name;
    expect(page).toContain(`Non hai il permesso Placement. Chiedi di abilitarti al Responsabile Politiche Attive (${htmlText(rpaName)})`);
    expect(page).not.toContain('action="/profilo/token"');
    const refused = await operator.post("/profilo/token", { nome: "Gestionale", giorni: "30", password: "demo1234" });
    expect(refused.status).toBe(422);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM api_tokens WHERE user_id = ?", userId(f.operatorA)).n).toBe(0);
    const fund = await signedIn(t, f.fund, { page: "/profilo" });
    expect(await (await fund.get("/profilo")).text()).not.toContain("Token API");
  });
});

describe("the OpenAPI document", () => {
  test("is public, valid OpenAPI 3.1, and names every route of the API", async () => {
    const response = await t.app.request("/api/v1/openapi.json");
    expect(response.status).toBe(200);
    const served = (await response.json()) as OpenApiDocument & { openapi: string };
    expect(served.openapi).toBe("3.1.0");
    expect(await documentErrors(served)).toEqual([]);
    // The check can fail: a document without its info is not OpenAPI.
    expect((await documentErrors({ ...served, info: undefined })).length).toBeGreaterThan(0);
    // Each route is registered once per handler of its chain (middleware, validators, handler).
    const routes = [
      ...new Set(
        apiRoutes.routes
          .filter((r) => r.method !== "ALL" && r.path !== "/openapi.json")
          .map((r) => `${r.method.toLowerCase()} /api/v1${r.path.replace(/:(\w+)/g, "{$1}")}`),
      ),
    ];
    expect(routes.length).toBe(8);
    for (const route of routes) {
      const [method, path] = route.split(" ") as [string, string];
      expect(served.paths[path]?.[method]).toBeDefined();
    }
    const documented = Object.entries(served.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`));
    expect(documented.sort()).toEqual(routes.sort());
  });

  test("the documentation page shows every operation and links the document", async () => {
    const client = await signedIn(t, f.rpaA, { page: "/profilo/api" });
    const page = await (await client.get("/profilo/api")).text();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) expect(page).toContain(`${method.toUpperCase()} ${path}`);
    }
    expect(page).toContain('href="/api/v1/openapi.json"');
    expect(page).toContain("Idempotency-Key");
  });
});

describe("what the attacker's review found", () => {
  test("a user whose agency requires the second factor gets no token without one, nor uses one once it is reset", async () => {
    t.db.$client.run("UPDATE agencies SET two_factor_required = 1 WHERE id = ?", [f.agencyA.id]);
    try {
      // Signed in with the password only, the user is held to Profilo and its enrolment.
      const client = await signedIn(t, f.referentA, { page: "/profilo" });
      const before = one<{ n: number }>("SELECT count(*) AS n FROM api_tokens").n;
      const made = await client.post("/profilo/token", { nome: "Scorciatoia", giorni: "365", password: "demo1234" });
      expect(made.status).toBe(303);
      expect(made.headers.get("Location")).toBe("/profilo");
      expect((await client.get("/profilo/api")).status).toBe(303);
      expect(await (await client.get("/profilo")).text()).toContain("La tua agenzia richiede la verifica in due passaggi: attivala nel Profilo, poi crea il token.");
      expect(one<{ n: number }>("SELECT count(*) AS n FROM api_tokens").n).toBe(before);
      expect(createApiToken(t.db, t.clock, account(t, f.referentA), { name: "cli", days: 30 })).toMatchObject({ ok: false });

      // With a second factor a token is made; the fund's reset of that factor stops it until it is enrolled again.
      t.db.$client.run("UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE email = ?", [f.referentA]);
      const token = tokenOf(t, f.referentA);
      expect((await api(t, token, "/campaigns")).status).toBe(200);
      const fund = await signedIn(t, f.fund, { page: `/amministrazione/agenzie/${f.agencyA.id}` });
      expect((await fund.post(`/amministrazione/utenti/${userId(f.referentA)}/due-passaggi`, {})).status).toBe(200);
      expect((await api(t, token, "/campaigns")).status).toBe(401);
      t.db.$client.run("UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE email = ?", [f.referentA]);
      expect((await api(t, token, "/campaigns")).status).toBe(200);
    } finally {
      t.db.$client.run("UPDATE agencies SET two_factor_required = 0 WHERE id = ?", [f.agencyA.id]);
      t.db.$client.run("UPDATE users SET totp_secret = NULL WHERE email = ?", [f.referentA]);
    }
  });

  test("a user still on a one-time password gets no token", () => {
    t.db.$client.run("UPDATE users SET must_change_password = 1 WHERE email = ?", [f.referentA]);
    try {
      expect(createApiToken(t.db, t.clock, account(t, f.referentA), { name: "cli", days: 30 })).toMatchObject({
        ok: false,
        error: expect.stringContaining("password provvisoria"),
      });
    } finally {
      t.db.$client.run("UPDATE users SET must_change_password = 0 WHERE email = ?", [f.referentA]);
    }
  });

  test("a key claimed by a request that never answered (the process stopped) is free again after its lease, never before", async () => {
    const token = tokenOf(t, f.rpaA);
    const tokenId = one<{ id: number }>("SELECT id FROM api_tokens WHERE token_hash = ?", sha256(token)).id;
    const fingerprint = sha256(`POST /api/v1/bookings ${JSON.stringify({ ...bookingRequest, format: "xlsx" })}`);
    t.db.$client.run("INSERT INTO idempotency_keys (token_id, key, fingerprint, created_at) VALUES (?, 'interrotta', ?, ?)", [tokenId, fingerprint, t.clock.now().getTime()]);
    const headers = { "Idempotency-Key": "interrotta" };
    const waiting = await api(t, token, "/bookings", { json: bookingRequest, headers });
    expect(waiting.status).toBe(409);
    expect((await answer(waiting, "/bookings", "post")).detail).toContain("ancora in corso");
    t.clock.advance(6 * 60_000);
    try {
      const again = await api(t, token, "/bookings", { json: bookingRequest, headers });
      expect(again.status).toBe(202);
      const replay = await api(t, token, "/bookings", { json: bookingRequest, headers });
      expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    } finally {
      t.clock.advance(-6 * 60_000);
    }
  });

  test("once the work is done its key is not freed, even when keeping the answer fails: a retry does not book twice", async () => {
    const token = tokenOf(t, f.rpaA);
    const before = one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n;
    t.db.$client.run("CREATE TRIGGER keep_fails BEFORE UPDATE ON idempotency_keys BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    const headers = { "Idempotency-Key": "risposta-persa" };
    try {
      const first = await api(t, token, "/bookings", { json: bookingRequest, headers });
      expect(first.status).toBe(500);
      expect(first.headers.get("Content-Type")).toBe("application/problem+json");
    } finally {
      t.db.$client.run("DROP TRIGGER keep_fails");
    }
    const retry = await api(t, token, "/bookings", { json: bookingRequest, headers });
    expect(retry.status).toBe(409);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM export_jobs").n).toBe(before + 1);
  });

  test("the fund's list shows every token in force, however many were revoked since", async () => {
    const g = await createTestApp();
    try {
      const h = fixtures(g.db);
      const kept = tokenOf(g, h.rpaB, "vecchio ma attivo");
      for (let i = 0; i < 205; i++) {
        tokenOf(g, h.rpaA, `usa e getta ${i}`);
        g.db.$client.run("UPDATE api_tokens SET revoked_at = 1, revoked_by = 'user' WHERE id = (SELECT max(id) FROM api_tokens)");
      }
      const fund = await signedIn(g, h.fund, { page: "/amministrazione/token" });
      const page = await (await fund.get("/amministrazione/token")).text();
      expect(page).toContain("vecchio ma attivo");
      expect(page).toContain("usa e getta 204");
      expect(page).not.toContain("usa e getta 4<");
      expect((await api(g, kept, "/campaigns")).status).toBe(200);
    } finally {
      g.close();
    }
  });

  test("bodies the schemas refuse, and a multipart that does not parse, are told in Italian", async () => {
    const token = tokenOf(t, f.rpaA);
    for (const body of ["[1,2]", '"testo"', "null"]) {
      const response = await t.app.request("/api/v1/bookings", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body,
      });
      expect(response.status).toBe(422);
      expect((await answer(response, "/bookings", "post")).detail).toContain("Il corpo è un oggetto JSON con i campi trainingTypes, year");
    }
    const long = await api(t, token, `/dashboard?trainingType=${"X".repeat(21)}`);
    expect(long.status).toBe(422);
    expect((await answer(long, "/dashboard")).detail).toBe("La tipologia formativa è un codice di al più 20 caratteri.");
    const broken = await t.app.request("/api/v1/uploads", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "multipart/form-data; boundary=abc" },
      body: "--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xlsx\"\r\n\r\nsenza fine",
    });
    expect(broken.status).toBe(400);
    expect((await answer(broken, "/uploads", "post")).detail).toContain("Il corpo multipart/form-data non si legge");
    const huge = await api(t, token, "/bookings", { json: { ...bookingRequest, extraEmail: "x".repeat(100_000) } });
    expect(huge.status).toBe(413);
    expect((await answer(huge, "/bookings", "post")).detail).toContain("troppo grande");
  });

  test("a HEAD of a file sends no file and is no download; the public document is made once and may be cached", async () => {
    const token = tokenOf(t, f.rpaA);
    const booking = await answer(await api(t, token, "/bookings", { json: bookingRequest }), "/bookings", "post");
    await drainExports(t.deps);
    const downloads = () => one<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action = 'export_download'").n;
    const before = downloads();
    const head = await api(t, token, `/bookings/${booking.id}/file`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Disposition")).toContain("attachment");
    expect(downloads()).toBe(before);
    expect((await api(t, token, `/bookings/${booking.id}/file`)).status).toBe(200);
    expect(downloads()).toBe(before + 1);

    const served = await t.app.request("/api/v1/openapi.json");
    expect(served.headers.get("Cache-Control")).toBe("public, max-age=300");
    expect(apiDocument("http://localhost:3000")).toBe(apiDocument("http://localhost:3000"));
  });
});
