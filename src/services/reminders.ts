import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, reminders } from "../db/schema.ts";
import { localDateTime } from "../format.ts";
import { campaignFor, campaignsFor, campaignState, listCampaigns, type AgencyCampaign } from "./campaigns.ts";
import type { Clock } from "./clock.ts";

/*
 * Deadline reminders (SPEC §13): at set days before each agency's own deadline, an agency
 * with data still missing is reminded once; the morning after the campaign's deadline the
 * fund learns which agencies are still incomplete. Each decision is recorded with its mail,
 * so that it is taken once, whatever restarts or stops the program.
 */

/** The time of day, in the campaign's zone, at which a reminder or the fund's list is due. */
export const DUE_TIME = "08:00";

const dayBefore = (isoDate: string, days: number) => new Date(Date.parse(`${isoDate}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);

/** What an agency still has to complete in a campaign; nothing personal, counts only. */
export type Gaps = { undeclared: number; placementIncomplete: number };

export const isIncomplete = (gaps: Gaps) => gaps.undeclared > 0 || gaps.placementIncomplete > 0;

/** Per agency: enrollments of mixed classes without a fascia debole, and Placement SI without hire date or contract type. */
export function campaignGaps(db: Db, year: number): Map<number, Gaps> {
  const rows = db.$client
    .query(
      `SELECT agency_id AS agencyId, sum(homogeneous = 0 AND fascia_debole IS NULL) AS undeclared,
              sum(placed = 1 AND (hire_date IS NULL OR contract_type IS NULL)) AS placementIncomplete
       FROM enrollments WHERE year = ? GROUP BY agency_id`,
    )
    .all(year) as (Gaps & { agencyId: number })[];
  return new Map(rows.map(({ agencyId, ...gaps }) => [agencyId, gaps]));
}

/**
 * The reminder due now for a deadline: of the days whose moment has come, the nearest to the
 * deadline; the others were passed by it (a stop across them sends only the latest).
 * Nothing is due once the deadline's day is over.
 */
export function dueReminder(days: readonly number[], deadline: string, localNow: string): { due: number | null; passed: number[] } {
  if (localNow.slice(0, 10) > deadline) return { due: null, passed: [] };
  const come = days.filter((d) => `${dayBefore(deadline, d)} ${DUE_TIME}` <= localNow).sort((a, b) => a - b);
  return { due: come[0] ?? null, passed: come.slice(1) };
}

export type ReminderDue = { campaign: AgencyCampaign; agencyId: number; days: number; passed: number[]; gaps: Gaps };

/**
 * The reminders to decide now, one per agency at most: enabled agencies, open campaigns
 * with reminders on, counted from each agency's own deadline, not decided before.
 */
export function remindersDue(db: Db, clock: Clock): ReminderDue[] {
  const now = clock.now();
  const due: ReminderDue[] = [];
  const enabled = db.select({ id: agencies.id }).from(agencies).where(eq(agencies.disabled, false)).all();
  // Each year's gaps are counted once, and only for a year with a reminder to decide.
  const gaps = new Map<number, Map<number, Gaps>>();
  for (const { id: agencyId } of enabled) {
    for (const campaign of campaignsFor(db, agencyId)) {
      if (!campaign.remindersOn || campaignState(campaign, now) !== "open") continue;
      const { year } = campaign;
      const { due: days, passed } = dueReminder(campaign.reminderDays, campaign.deadline, localDateTime(now, campaign.timezone));
      if (days === null || decided(db, year, agencyId, campaign.deadline, days)) continue;
      if (!gaps.has(year)) gaps.set(year, campaignGaps(db, year));
      due.push({ campaign, agencyId, days, passed, gaps: gaps.get(year)!.get(agencyId) ?? { undeclared: 0, placementIncomplete: 0 } });
    }
  }
  return due;
}

/** How many reminders an agency was sent for a campaign, and how many found nobody to tell, whatever deadline they counted from. */
function remindersOf(db: Db, year: number, agencyId: number): { reminded: number; unreachable: number } {
  const outcomes = db
    .select({ outcome: reminders.outcome })
    .from(reminders)
    .where(and(eq(reminders.year, year), eq(reminders.agencyId, agencyId)))
    .all();
  return { reminded: outcomes.filter((r) => r.outcome === "sent").length, unreachable: outcomes.filter((r) => r.outcome === "unreachable").length };
}

const decided = (db: Db, year: number, agencyId: number, deadline: string, days: number) =>
  !!db
    .select({ days: reminders.days })
    .from(reminders)
    .where(and(eq(reminders.year, year), eq(reminders.agencyId, agencyId), eq(reminders.deadline, deadline), eq(reminders.days, days)))
    .get();

/**
 * Records the decision on a due reminder (sent, nothing to remind, or nobody to tell) and the
 * earlier ones it passed, inside the caller's transaction with its mail. False when it was
 * decided meanwhile.
 */
export function recordReminder(db: Db, clock: Clock, due: ReminderDue, outcome: "sent" | "complete" | "unreachable"): boolean {
  const { campaign, agencyId } = due;
  const base = { year: campaign.year, agencyId, deadline: campaign.deadline, decidedAt: clock.now() };
  const inserted = db.insert(reminders).values({ ...base, days: due.days, outcome }).onConflictDoNothing().returning().all();
  if (inserted.length === 0) return false;
  for (const days of due.passed) db.insert(reminders).values({ ...base, days, outcome: "passed" }).onConflictDoNothing().run();
  return true;
}

export type IncompleteList = {
  year: number;
  deadline: string;
  agencies: { code: string; name: string; gaps: Gaps; extendedTo: string | null; reminded: number; unreachable: number }[];
};

/** The campaigns whose fund's list is due: the morning after the campaign's deadline, once. */
export function incompleteListsDue(db: Db, clock: Clock): IncompleteList[] {
  const now = clock.now();
  const lists: IncompleteList[] = [];
  for (const campaign of listCampaigns(db)) {
    if (campaign.incompleteListSentAt) continue;
    if (localDateTime(now, campaign.timezone) < `${dayBefore(campaign.deadline, -1)} ${DUE_TIME}`) continue;
    const gaps = campaignGaps(db, campaign.year);
    const rows = db.select().from(agencies).where(eq(agencies.disabled, false)).orderBy(agencies.code).all();
    lists.push({
      year: campaign.year,
      deadline: campaign.deadline,
      agencies: rows.flatMap((a) => {
        const g = gaps.get(a.id);
        if (!g || !isIncomplete(g)) return [];
        const extendedTo = campaignFor(db, campaign.year, a.id)!.extension?.deadline ?? null;
        return [{ code: a.code, name: a.name, gaps: g, extendedTo, ...remindersOf(db, campaign.year, a.id) }];
      }),
    });
  }
  return lists;
}

/** Marks a campaign's list as sent, inside the caller's transaction with its mail; false when it was meanwhile. */
export function recordIncompleteList(db: Db, clock: Clock, year: number): boolean {
  return (
    db.$client.query("UPDATE campaigns SET incomplete_list_sent_at = ? WHERE year = ? AND incomplete_list_sent_at IS NULL").run(clock.now().getTime(), year)
      .changes === 1
  );
}
