import { Hono, type Context } from "hono";
import { z } from "zod";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FundAgenciesPage, type AgencySort } from "../../views/pages/fund-agencies.tsx";
import { OutboxPage } from "../../views/pages/outbox.tsx";
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
import { fundFigures } from "../services/dashboard.ts";
import { getAgency } from "../services/projects.ts";
import { narrowTo } from "../services/scope.ts";
import { dataPaths } from "../config.ts";
import { listOutbox, resendMail, sendTestMail } from "../mail/outbox.ts";
import { recordAudit } from "../services/audit.ts";
import { emlFileName } from "../mail/transport.ts";
import { renderDashboard } from "./dashboard.tsx";
import { selectedYear } from "./year.ts";

const AGENCY_SORTS = new Set<AgencySort["column"]>(["agenzia", "iscrizioni", "dichiarate", "placement", "caricamento", "errori"]);

function outboxPage(c: Context<AppEnv>, test?: Parameters<typeof OutboxPage>[0]["test"]) {
  const { db, mail, config } = c.get("deps");
  const filesDir = mail.kind === "files" ? dataPaths(config).mail : null;
  return <OutboxPage ctx={pageContext(c, "Posta in uscita", "posta")} messages={listOutbox(db)} filesDir={filesDir} test={test} />;
}

export const fundRoutes = new Hono<AppEnv>()
  .use(requireUser, requireFundOperator)
  .get("/", (c) => {
    const { years, year } = selectedYear(c);
    const column = c.req.query("ordina") as AgencySort["column"];
    const sort: AgencySort = { column: AGENCY_SORTS.has(column) ? column : "agenzia", descending: c.req.query("verso") === "desc" };
    return c.html(
      <FundAgenciesPage
        ctx={pageContext(c, "Agenzie", "fondo")}
        years={years}
        year={year}
        agencies={fundFigures(c.get("deps").db, year)}
        sort={sort}
      />,
    );
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
  .get("/posta", (c) => c.html(outboxPage(c)))
  .post("/posta/prova", async (c) => {
    const { db, clock, mail, config } = c.get("deps");
    const parsed = z.email().safeParse(String((await c.req.parseBody())["indirizzo"] ?? "").trim());
    if (!parsed.success) {
      return c.html(outboxPage(c, { to: "", result: null, error: "Scrivi un indirizzo e-mail valido." }), 422);
    }
    const result = await sendTestMail(db, clock, mail, config.MAIL_FROM, parsed.data);
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
