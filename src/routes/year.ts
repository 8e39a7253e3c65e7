import type { Context } from "hono";
import type { AppEnv } from "../http.ts";
import { listCampaigns } from "../services/campaigns.ts";

// Before the fund configures any campaign, pages show the year of the original circular.
const FALLBACK_YEAR = 2019;

/** The campaign year asked for with `?anno=`, else the latest campaign. */
export function selectedYear(c: Context<AppEnv>): { years: number[]; year: number } {
  const years = listCampaigns(c.get("deps").db).map((campaign) => campaign.year);
  const asked = Number(c.req.query("anno"));
  const year = years.includes(asked) ? asked : (years[0] ?? FALLBACK_YEAR);
  return { years: years.length ? years : [year], year };
}
