import { Hono, type Context } from "hono";
import { z } from "zod";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FundAgenciesPage } from "../../views/pages/fund-agencies.tsx";
import { AuditPage } from "../../views/pages/audit.tsx";
import { OutboxPage } from "../../views/pages/outbox.tsx";
import { PersonPage } from "../../views/pages/person.tsx";
import {
  clientAddress,
  idParam,
  notFound,
  pageContext,
  requireFundOperator,
  requireUser,
  signedInScope,
  signedInUser,
  type AppEnv,
} from "../http.ts";
import { agencySortAsked, fundFigures, sortAgencies } from "../services/dashboard.ts";
import { getAgency, listAgencies } from "../services/projects.ts";
import { narrowTo } from "../services/scope.ts";
import { dataPaths } from "../config.ts";
import { listOutbox, resendMail, sendTestMail } from "../mail/outbox.ts";
import { AUDIT_COLUMNS, auditActions, recordAudit, searchAudit, type AuditFilters } from "../services/audit.ts";
import { localDate } from "../format.ts";
import { writeTableFile } from "../sheets/table-file.ts";
import { writePersonFile } from "../sheets/person-file.ts";
import { FILE_CONTENT_TYPES } from "../sheets/trainee-file.ts";
import { findPerson, personData, type Person } from "../services/person-data.ts";
import { emlFileName } from "../mail/transport.ts";
import { renderDashboard } from "./dashboard.tsx";
import { book } from "./placement.tsx";
import { selectedYear } from "./year.ts";
import { bookReport } from "../services/report.ts";
import { campaignState, getCampaign } from "../services/campaigns.ts";

const AUDIT_PAGE_ROWS = 500;
const AUDIT_FILE_ROWS = 1_000_000;
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().catch(undefined);
const auditQuery = z.object({
  agenzia: z.coerce.number().int().positive().optional().catch(undefined),
  utente: z.string().trim().max(320).optional().catch(undefined),
  azione: z.string().max(64).optional().catch(undefined),
  dal: day,
  al: day,
});

function auditFilters(c: Context<AppEnv>): AuditFilters {
  const q = auditQuery.parse(c.req.query());
  return { agencyId: q.agenzia, user: q.utente || undefined, action: q.azione || undefined, from: q.dal, to: q.al };
}

const personForm = z.object({ cf: z.string().trim().toUpperCase().max(64) });

/** The person whose codice fiscale was posted, or the sentence that says what to do. */
function personAsked(c: Context<AppEnv>, body: unknown): { ok: true; person: Person } | { ok: false; typed: string; error: string } {
  const typed = personForm.safeParse(body).data?.cf ?? "";
  if (!/^[A-Z0-9]{16}$/.test(typed)) return { ok: false, typed, error: "Scrivi il codice fiscale di 16 lettere e cifre della persona." };
  const person = findPerson(c.get("deps").db, typed);
  if (!person) return { ok: false, typed, error: "Placement non tratta dati di una persona con questo codice fiscale: controlla di averlo scritto bene." };
  return { ok: true, person };
}

function outboxPage(c: Context<AppEnv>, test?: Parameters<typeof OutboxPage>[0]["test"]) {
  const { db, mail, config } = c.get("deps");
  const filesDir = mail.kind === "files" ? dataPaths(config).mail : null;
  return <OutboxPage ctx={pageContext(c, "Posta in uscita", "posta")} messages={listOutbox(db)} filesDir={filesDir} test={test} />;
}

function agenciesPage(c: Context<AppEnv>, error?: string, status: 200 | 422 = 200) {
  const { db, clock } = c.get("deps");
  const { years, year } = selectedYear(c);
  const sort = agencySortAsked(c.req.query("ordina"), c.req.query("verso"));
  const campaign = getCampaign(db, year);
  return c.html(
    <FundAgenciesPage
      ctx={pageContext(c, "Agenzie", "fondo")}
      years={years}
      year={year}
      agencies={sortAgencies(fundFigures(db, year), sort)}
      sort={sort}
      closed={campaign !== undefined && campaignState(campaign, clock.now()) === "closed"}
      error={error}
    />,
    status,
  );
}

export const fundRoutes = new Hono<AppEnv>()
  .use(requireUser, requireFundOperator)
  // The fund's file of every agency's data, booked from its Placement page.
  .post("/dati-acquisiti", (c) => book(c, "fund"))
  .get("/", (c) => agenciesPage(c))
  // The closing report, once the campaign's deadline has passed: written by the export queue.
  .post("/relazione", async (c) => {
    const { db, clock } = c.get("deps");
    const year = Number((await c.req.parseBody())["anno"]);
    const user = signedInUser(c);
    const result = bookReport(db, clock, user, Number.isInteger(year) ? year : 0);
    if (!result.ok) return agenciesPage(c, result.error, 422);
    recordAudit(db, clock, { action: "report_book", userId: user.id, target: `booking:${result.id}`, detail: { year }, address: clientAddress(c) });
    c.get("deps").jobs.wake();
    return c.redirect("/placement/import-massivo", 303);
  })
  .get("/agenzie/:id", (c) => {
    const scope = narrowTo(signedInScope(c), idParam(c, "id")) ?? notFound();
    const agency = getAgency(c.get("deps").db, scope, idParam(c, "id")) ?? notFound();
    return renderDashboard(c, {
      agencyId: agency.id,
      heading: agency.name,
      action: `/fondo/agenzie/${agency.id}`,
      section: "fondo",
      withJobs: false,
    });
  })
  .get("/registro", (c) => {
    const { db } = c.get("deps");
    const filters = auditFilters(c);
    return c.html(
      <AuditPage
        ctx={pageContext(c, "Registro", "registro")}
        rows={searchAudit(db, filters, AUDIT_PAGE_ROWS)}
        filters={filters}
        agencies={listAgencies(db)}
        actions={auditActions(db)}
        query={new URL(c.req.url).search}
        limit={AUDIT_PAGE_ROWS}
      />,
    );
  })
  .get("/registro/file", async (c) => {
    const { db, clock } = c.get("deps");
    const chunks: Uint8Array[] = [];
    await writeTableFile("csv", "Registro", AUDIT_COLUMNS, searchAudit(db, auditFilters(c), AUDIT_FILE_ROWS), (chunk) => void chunks.push(chunk));
    return new Response(new Blob(chunks as BlobPart[]), {
      headers: {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="registro_${localDate(clock.now(), "Europe/Rome")}.csv"`,
        "Cache-Control": "private, no-store",
      },
    });
  })
  .get("/persona", (c) => c.html(<PersonPage ctx={pageContext(c, "Dati di una persona", "registro")} />))
  .post("/persona", async (c) => {
    const found = personAsked(c, await c.req.parseBody());
    if (!found.ok) return c.html(<PersonPage ctx={pageContext(c, "Dati di una persona", "registro")} codiceFiscale={found.typed} error={found.error} />, 422);
    const { db, clock } = c.get("deps");
    const data = personData(db, found.person);
    recordAudit(db, clock, { action: "person_data_view", userId: signedInUser(c).id, target: `participant:${found.person.id}`, address: clientAddress(c) });
    const summary = { ...found.person, enrollments: data.enrollments.length, changes: data.changes.length, uploads: data.uploads.length, exports: data.exports.length };
    return c.html(<PersonPage ctx={pageContext(c, "Dati di una persona", "registro")} codiceFiscale={found.person.codiceFiscale} found={summary} />);
  })
  .post("/persona/file", async (c) => {
    const found = personAsked(c, await c.req.parseBody());
    if (!found.ok) return c.html(<PersonPage ctx={pageContext(c, "Dati di una persona", "registro")} codiceFiscale={found.typed} error={found.error} />, 422);
    const { db, clock } = c.get("deps");
    const chunks: Uint8Array[] = [];
    await writePersonFile(personData(db, found.person), clock.now(), (chunk) => void chunks.push(chunk));
    recordAudit(db, clock, { action: "person_data_download", userId: signedInUser(c).id, target: `participant:${found.person.id}`, address: clientAddress(c) });
    return new Response(new Blob(chunks as BlobPart[]), {
      headers: {
        "Content-Type": FILE_CONTENT_TYPES.xlsx,
        "Content-Disposition": `attachment; filename="dati_persona_${found.person.id}_${localDate(clock.now(), "Europe/Rome")}.xlsx"`,
        "Cache-Control": "private, no-store",
      },
    });
  })
  .get("/posta", (c) => c.html(outboxPage(c)))
  .post("/posta/prova", async (c) => {
    const { db, clock, mail, config, log } = c.get("deps");
    const parsed = z.email().safeParse(String((await c.req.parseBody())["indirizzo"] ?? "").trim());
    if (!parsed.success) {
      return c.html(outboxPage(c, { to: "", result: null, error: "Scrivi un indirizzo e-mail valido." }), 422);
    }
    const result = await sendTestMail(db, clock, mail, config.MAIL_FROM, parsed.data, log);
    recordAudit(db, clock, { action: "mail_test", userId: signedInUser(c).id, target: parsed.data, address: clientAddress(c) });
    return c.html(outboxPage(c, { to: parsed.data, result }), result.ok ? 200 : 422);
  })
  .post("/posta/:id/rinvia", (c) => {
    const { db, clock } = c.get("deps");
    const id = idParam(c, "id");
    if (!resendMail(db, id)) notFound();
    recordAudit(db, clock, { action: "mail_resend", userId: signedInUser(c).id, target: `outbox:${id}`, address: clientAddress(c) });
    return c.redirect("/fondo/posta", 303);
  })
  .get("/posta/:file{[0-9]+\\.eml}", (c) => {
    const id = Number(c.req.param("file").replace(".eml", ""));
    const path = join(dataPaths(c.get("deps").config).mail, emlFileName(id));
    if (!existsSync(path)) notFound();
    return new Response(Bun.file(path), {
      headers: { "Content-Type": "message/rfc822", "Content-Disposition": `attachment; filename="${emlFileName(id)}"` },
    });
  });
