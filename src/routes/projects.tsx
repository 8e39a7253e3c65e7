import { Hono } from "hono";
import { ProjectPage } from "../../views/pages/project.tsx";
import { ProjectsPage } from "../../views/pages/projects.tsx";
import { idParam, notFound, pageContext, requireUser, signedInScope, type AppEnv } from "../http.ts";
import { getProject, listProjects, projectRoster } from "../services/projects.ts";
import { selectedYear } from "./year.ts";

export const projectRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get("/", (c) => {
    const { db } = c.get("deps");
    const { years, year } = selectedYear(c);
    const projects = listProjects(db, signedInScope(c), year);
    return c.html(
      <ProjectsPage
        ctx={pageContext(c, "Progetti", "progetti")}
        heading={c.get("agencyName") ?? "Progetti"}
        action="/progetti"
        years={years}
        year={year}
        projects={projects}
      />,
    );
  })
  .get("/:id", (c) => {
    const { db } = c.get("deps");
    const scope = signedInScope(c);
    const project = getProject(db, scope, idParam(c, "id")) ?? notFound();
    const roster = projectRoster(db, scope, project.id);
    return c.html(<ProjectPage ctx={pageContext(c, project.title, "progetti")} project={project} roster={roster} />);
  });
