import { Hono } from "hono";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FundAgenciesPage } from "../../views/pages/fund-agencies.tsx";
import { OutboxPage } from "../../views/pages/outbox.tsx";
import { ProjectsPage } from "../../views/pages/projects.tsx";
import { idParam, notFound, pageContext, requireFundOperator, requireUser, signedInScope, type AppEnv } from "../http.ts";
import { agenciesOverview, getAgency, listProjects } from "../services/projects.ts";
import { narrowTo } from "../services/scope.ts";
import { dataPaths } from "../config.ts";
import { listOutbox } from "../mail/outbox.ts";
import { emlFileName } from "../mail/transport.ts";
import { selectedYear } from "./year.ts";

export const fundRoutes = new Hono<AppEnv>()
  .use(requireUser, requireFundOperator)
  .get("/", (c) => {
    const { years, year } = selectedYear(c);
    const agencies = agenciesOverview(c.get("deps").db, year);
    return c.html(
      <FundAgenciesPage ctx={pageContext(c, "Agenzie", "fondo")} years={years} year={year} agencies={agencies} />,
    );
  })
  .get("/agenzie/:id", (c) => {
    const { db } = c.get("deps");
    const scope = narrowTo(signedInScope(c), idParam(c, "id")) ?? notFound();
    const agency = getAgency(db, scope, idParam(c, "id")) ?? notFound();
    const { years, year } = selectedYear(c);
    return c.html(
      <ProjectsPage
        ctx={pageContext(c, agency.name, "fondo")}
        heading={agency.name}
        action={`/fondo/agenzie/${agency.id}`}
        years={years}
        year={year}
        projects={listProjects(db, scope, year)}
      />,
    );
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
