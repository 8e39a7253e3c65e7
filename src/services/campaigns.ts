import { desc, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { campaigns } from "../db/schema.ts";
import { formatDate, localDate } from "../format.ts";

export type Campaign = typeof campaigns.$inferSelect;
export type CampaignState = "not_open_yet" | "open" | "closed";

/** Open from the start of `opensOn` to the end of `deadline`, both in the campaign's time zone. */
export function campaignState(campaign: Campaign, now: Date): CampaignState {
  const today = localDate(now, campaign.timezone);
  if (today < campaign.opensOn) return "not_open_yet";
  if (today > campaign.deadline) return "closed";
  return "open";
}

/** Whole days from today to the deadline, counting the deadline day itself. */
export function daysLeft(campaign: Campaign, now: Date): number {
  const today = Date.parse(localDate(now, campaign.timezone));
  return Math.max(0, Math.round((Date.parse(campaign.deadline) - today) / 86_400_000) + 1);
}

export function listCampaigns(db: Db): Campaign[] {
  return db.select().from(campaigns).orderBy(desc(campaigns.year)).all();
}

export function getCampaign(db: Db, year: number): Campaign | undefined {
  return db.select().from(campaigns).where(eq(campaigns.year, year)).get();
}

/** Why a campaign refuses bookings and uploads right now, as a sentence; null when open. */
export function campaignClosedReason(db: Db, year: number, now: Date): string | null {
  const campaign = getCampaign(db, year);
  if (!campaign) return `Non esiste una campagna per l'anno ${year}: scegli un altro anno.`;
  const state = campaignState(campaign, now);
  if (state === "not_open_yet") {
    return `La campagna ${year} non è ancora aperta: sarà possibile dal ${formatDate(campaign.opensOn)} al ${formatDate(campaign.deadline)}.`;
  }
  if (state === "closed") {
    return `La campagna ${year} è chiusa: la scadenza era il ${formatDate(campaign.deadline)}. Le richieste erano possibili dal ${formatDate(campaign.opensOn)} al ${formatDate(campaign.deadline)}.`;
  }
  return null;
}
