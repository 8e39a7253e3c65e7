import { and, desc, eq, getTableColumns, sql } from "drizzle-orm";
import { preparedPerDatabase, type Db } from "../db/client.ts";
import { agencies, campaignExtensions, campaigns, users } from "../db/schema.ts";
import { formatDate, localDate } from "../format.ts";
import type { Clock } from "./clock.ts";

export type Campaign = typeof campaigns.$inferSelect;
export type CampaignState = "not_open_yet" | "open" | "closed";
export type Extension = typeof campaignExtensions.$inferSelect;

/**
 * A campaign as one agency lives it: `deadline` is that agency's own when the fund granted
 * it a proroga, `campaignDeadline` the campaign's. Every window check reads this.
 */
export type AgencyCampaign = Campaign & { campaignDeadline: string; extension: Extension | null };

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

// Every page reads its campaign: the statements are built and prepared once.
const campaignQueries = preparedPerDatabase((db) => ({
  all: db.select().from(campaigns).orderBy(desc(campaigns.year)).prepare(),
  one: db.select().from(campaigns).where(eq(campaigns.year, sql.placeholder("year"))).prepare(),
  extension: db
    .select()
    .from(campaignExtensions)
    .where(and(eq(campaignExtensions.year, sql.placeholder("year")), eq(campaignExtensions.agencyId, sql.placeholder("agency"))))
    .prepare(),
}));

export function listCampaigns(db: Db): Campaign[] {
  return campaignQueries(db).all.all();
}

export function getCampaign(db: Db, year: number): Campaign | undefined {
  return campaignQueries(db).one.get({ year });
}

// A proroga only ever gives more time: once the campaign's own deadline is moved past it, it no longer counts.
const asLived = (campaign: Campaign, granted: Extension | null): AgencyCampaign => {
  const extension = granted && granted.deadline > campaign.deadline ? granted : null;
  return { ...campaign, campaignDeadline: campaign.deadline, deadline: extension?.deadline ?? campaign.deadline, extension };
};

/** The campaign of a year for one agency (null: the campaign as it is for everyone). */
export function campaignFor(db: Db, year: number, agencyId: number | null): AgencyCampaign | undefined {
  const campaign = getCampaign(db, year);
  if (!campaign) return undefined;
  const extension = agencyId === null ? undefined : campaignQueries(db).extension.get({ year, agency: agencyId });
  return asLived(campaign, extension ?? null);
}

/** Every campaign, newest first, for one agency (null: as they are for everyone). */
export function campaignsFor(db: Db, agencyId: number | null): AgencyCampaign[] {
  const extensions =
    agencyId === null ? [] : db.select().from(campaignExtensions).where(eq(campaignExtensions.agencyId, agencyId)).all();
  return listCampaigns(db).map((campaign) => asLived(campaign, extensions.find((e) => e.year === campaign.year) ?? null));
}

/** Why a campaign refuses bookings, uploads and edits of an agency right now, as a sentence; null when open. */
export function campaignClosedReason(db: Db, year: number, now: Date, agencyId: number | null): string | null {
  const campaign = campaignFor(db, year, agencyId);
  if (!campaign) return `Non esiste una campagna per l'anno ${year}: scegli un altro anno.`;
  const state = campaignState(campaign, now);
  if (state === "not_open_yet") {
    return `La campagna ${year} non è ancora aperta: sarà possibile dal ${formatDate(campaign.opensOn)} al ${formatDate(campaign.deadline)}.`;
  }
  if (state === "closed" && campaign.extension) {
    return `La proroga concessa alla tua agenzia per la campagna ${year} è scaduta il ${formatDate(campaign.deadline)}: per un'altra proroga rivolgiti al Fondo.`;
  }
  if (state === "closed") {
    return `La campagna ${year} è chiusa: la scadenza era il ${formatDate(campaign.deadline)}. Le richieste erano possibili dal ${formatDate(campaign.opensOn)} al ${formatDate(campaign.deadline)}.`;
  }
  return null;
}

export type ExtensionListing = Extension & { agencyCode: string; agencyName: string; grantedBy: string | null };

/** Every proroga, by year (newest first) and agency name. */
export function listExtensions(db: Db): ExtensionListing[] {
  return db
    .select({
      ...getTableColumns(campaignExtensions),
      agencyCode: agencies.code,
      agencyName: agencies.name,
      grantedBy: users.name,
    })
    .from(campaignExtensions)
    .innerJoin(agencies, eq(agencies.id, campaignExtensions.agencyId))
    .leftJoin(users, eq(users.id, campaignExtensions.grantedByUserId))
    .orderBy(desc(campaignExtensions.year), agencies.name)
    .all();
}

export type ExtensionResult = { ok: true; previous: Extension | null } | { ok: false; field: "year" | "agency" | "deadline" | "reason"; error: string };

const MAX_REASON = 500;

/**
 * Grants an agency a later deadline, or moves the one it has: only a day after the
 * campaign's deadline, also once it has passed (the agency's window opens again).
 */
export function grantExtension(
  db: Db,
  clock: Clock,
  grantedBy: number,
  input: { year: number; agencyId: number; deadline: string; reason: string },
): ExtensionResult {
  const campaign = getCampaign(db, input.year);
  if (!campaign) return { ok: false, field: "year", error: `Non esiste una campagna per l'anno ${input.year}: scegli un anno dell'elenco.` };
  // An anonymised campaign has no people left to declare for: its window stays shut.
  if (campaign.anonymisedAt) {
    return { ok: false, field: "year", error: `I dati personali della campagna ${input.year} sono stati anonimizzati: non si può più concedere una proroga.` };
  }
  if (!db.select({ id: agencies.id }).from(agencies).where(eq(agencies.id, input.agencyId)).get()) {
    return { ok: false, field: "agency", error: "Scegli dall'elenco l'agenzia a cui concedere la proroga." };
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(input.deadline) || Number.isNaN(Date.parse(input.deadline))) {
    return { ok: false, field: "deadline", error: "Scrivi il giorno in cui finisce la proroga." };
  }
  if (input.deadline <= campaign.deadline) {
    return {
      ok: false,
      field: "deadline",
      error: `La proroga deve finire dopo la scadenza della campagna ${input.year} (${formatDate(campaign.deadline)}): scegli un giorno successivo.`,
    };
  }
  const reason = input.reason.trim();
  if (reason === "") return { ok: false, field: "reason", error: "Scrivi il motivo della proroga: resta nel registro delle attività." };
  if (reason.length > MAX_REASON) return { ok: false, field: "reason", error: `Il motivo può avere al massimo ${MAX_REASON} caratteri: accorcialo.` };
  const previous =
    db.select().from(campaignExtensions).where(and(eq(campaignExtensions.year, input.year), eq(campaignExtensions.agencyId, input.agencyId))).get() ?? null;
  const values = { deadline: input.deadline, reason, grantedByUserId: grantedBy, grantedAt: clock.now() };
  db.insert(campaignExtensions)
    .values({ year: input.year, agencyId: input.agencyId, ...values })
    .onConflictDoUpdate({ target: [campaignExtensions.year, campaignExtensions.agencyId], set: values })
    .run();
  return { ok: true, previous };
}

/** Takes a proroga back; the removed one, or null when there was none. */
export function removeExtension(db: Db, id: number): Extension | null {
  return db.delete(campaignExtensions).where(eq(campaignExtensions.id, id)).returning().get() ?? null;
}
