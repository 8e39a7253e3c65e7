import { Hono } from "hono";
import { PlacementPage } from "../../views/pages/placement.tsx";
import { pageContext, requirePlacementPermission, requireUser, type AppEnv } from "../http.ts";
import { campaignState, daysLeft, listCampaigns } from "../services/campaigns.ts";

export const placementRoutes = new Hono<AppEnv>()
  .use(requireUser, requirePlacementPermission)
  .get("/", (c) => {
    const { db, clock } = c.get("deps");
    const now = clock.now();
    const campaigns = listCampaigns(db).map((campaign) => ({
      campaign,
      state: campaignState(campaign, now),
      daysLeft: daysLeft(campaign, now),
    }));
    return c.html(<PlacementPage ctx={pageContext(c, "Placement", "placement")} campaigns={campaigns} />);
  });
