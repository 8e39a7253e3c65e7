import type { Context } from "hono";
import { DashboardPage } from "../../views/pages/dashboard.tsx";
import type { Section } from "../../views/context.ts";
import { pageContext, type AppEnv } from "../http.ts";
import { campaignFor, campaignState, daysLeft } from "../services/campaigns.ts";
import { agencyFigures, projectSortAsked, sortProjects, type AgencyFigures } from "../services/dashboard.ts";
import { activeCodes } from "../services/reference-lists.ts";
import { selectedYear } from "./year.ts";

/** An agency's dashboard: its own Placement home, or the fund's read-only view of it. */
export function renderDashboard(
  c: Context<AppEnv>,
  view: { agencyId: number; heading: string; action: string; section: Section; withJobs: boolean },
) {
  const { db, clock } = c.get("deps");
  const { years, year } = selectedYear(c);
  const trainingTypes = activeCodes(db, "trainingTypes");
  const asked = c.req.query("tipologia") ?? "";
  const trainingType = trainingTypes.some((t) => t.code === asked) ? asked : null;
  const sort = projectSortAsked(c.req.query("ordina"), c.req.query("verso"));
  const sorted = (figures: AgencyFigures) => ({ ...figures, projects: sortProjects(figures.projects, sort) });
  const campaign = campaignFor(db, year, view.agencyId);
  const now = clock.now();
  return c.html(
    <DashboardPage
      ctx={pageContext(c, view.heading, view.section)}
      heading={view.heading}
      action={view.action}
      years={years}
      year={year}
      trainingTypes={trainingTypes}
      trainingType={trainingType}
      campaign={campaign ? { campaign, daysLeft: daysLeft(campaign, now), open: campaignState(campaign, now) === "open" } : null}
      figures={sorted(agencyFigures(db, view.agencyId, year, trainingType))}
      categories={activeCodes(db, "categories")}
      sort={sort}
      withJobs={view.withJobs}
    />,
  );
}
