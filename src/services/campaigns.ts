import { desc, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { campaigns } from "../db/schema.ts";

export type Campaign = typeof campaigns.$inferSelect;
export type CampaignState = "not_open_yet" | "open" | "closed";

// Building a formatter costs far more than using one: one per time zone, kept.
const formatters = new Map<string, { date: Intl.DateTimeFormat; dateTime: Intl.DateTimeFormat }>();
function formattersFor(timeZone: string) {
  let found = formatters.get(timeZone);
  if (!found) {
    found = {
      date: new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }),
      dateTime: new Intl.DateTimeFormat("en-GB", {
        timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      }),
    };
    formatters.set(timeZone, found);
  }
  return found;
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(instant: Date, timeZone: string): string {
  return formattersFor(timeZone).date.format(instant);
}

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

export function formatDate(isoDate: string): string {
  const [y, m, d] = isoDate.split("-");
  return `${d}/${m}/${y}`;
}

export function listCampaigns(db: Db): Campaign[] {
  return db.select().from(campaigns).orderBy(desc(campaigns.year)).all();
}

export function getCampaign(db: Db, year: number): Campaign | undefined {
  return db.select().from(campaigns).where(eq(campaigns.year, year)).get();
}

/** dd/mm/yyyy hh:mm in Italian time, as the clerk reads it. */
export function formatDateTime(instant: Date, timeZone = "Europe/Rome"): string {
  const parts = Object.fromEntries(
    formattersFor(timeZone)
      .dateTime.formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}`;
}
