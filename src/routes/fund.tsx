import { Hono } from "hono";
import { FundAgenciesPage } from "../../views/pages/fund-agencies.tsx";
import { ProjectsPage } from "../../views/pages/projects.tsx";
import { idParam, notFound, pageContext, requireFundOperator, requireUser, signedInScope, type AppEnv } from "../http.ts";
import { agenciesOverview, getAgency, listProjects } from "../services/projects.ts";
import { narrowTo } from "../services/scope.ts";
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
  });
