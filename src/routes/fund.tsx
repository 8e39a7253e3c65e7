import { Hono } from "hono";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FundAgenciesPage, type AgencySort } from "../../views/pages/fund-agencies.tsx";
import { OutboxPage } from "../../views/pages/outbox.tsx";
import { idParam, notFound, pageContext, requireFundOperator, requireUser, signedInScope, type AppEnv } from "../http.ts";
import { fundFigures } from "../services/dashboard.ts";
import { getAgency } from "../services/projects.ts";
import { narrowTo } from "../services/scope.ts";
import { dataPaths } from "../config.ts";
import { listOutbox } from "../mail/outbox.ts";
import { emlFileName } from "../mail/transport.ts";
import { renderDashboard } from "./dashboard.tsx";
import { selectedYear } from "./year.ts";

const AGENCY_SORTS = new Set<AgencySort["column"]>(["agenzia", "iscrizioni", "dichiarate", "placement", "caricamento", "errori"]);

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
  .get("/posta", (c) => {
    const { db, mail, config } = c.get("deps");
    const filesDir = mail.kind === "files" ? dataPaths(config).mail : null;
    return c.html(<OutboxPage ctx={pageContext(c, "Posta in uscita", "posta")} messages={listOutbox(db)} filesDir={filesDir} />);
  })
  .get("/posta/:file{[0-9]+\\.eml}", (c) => {
    const id = Number(c.req.param("file").replace(".eml", ""));
    const path = join(dataPaths(c.get("deps").config).mail, emlFileName(id));
    if (!existsSync(path)) notFound();
    return new Response(Bun.file(path), {
      headers: { "Content-Type": "message/rfc822", "Content-Disposition": `attachment; filename="${emlFileName(id)}"` },
    });
  });
