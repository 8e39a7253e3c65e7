import type { Database } from "bun:sqlite";
import { eq, sql } from "drizzle-orm";
import { preparedPerDatabase, type Db } from "../db/client.ts";
import { placementMinimums } from "../db/schema.ts";
import { getCampaign } from "./campaigns.ts";
import { activeCodes } from "./reference-lists.ts";

/*
 * The placement obligation (SPEC §13): a training type may require, in a campaign year, a
 * least share of each project's trainees placed. What counts as placed is written here once.
 */

/**
 * A trainee counts as placed with Placement SI and a hire date after the project's end: a
 * date the rules no longer accept (the project's end moved) does not count. SQL, 1 or 0,
 * over the SQL of the enrollment's placed flag, hire date and project id.
 */
export const countsAsPlaced = (placed: string, hireDate: string, projectId: string) =>
  `(CASE WHEN ${placed} = 1 THEN coalesce(${hireDate} > (SELECT pe.end_date FROM projects pe WHERE pe.id = ${projectId}), 0) ELSE 0 END)`;

/**
 * The rule's outcome as kept on each enrollment `e` by the writers of its inputs: the
 * declarations' writer and the master data's; the dashboards' kept counts add it up.
 * Looking the project's end up for each placed row instead made the fund's table 3.4
 * times its bare GROUP BY at 3,000,000 enrollments (bench/dashboard.ts).
 */
export const COUNTS_AS_PLACED = "e.counts_as_placed";

/** Counts again the placed trainees of one project, or of every project, after their project's end changed. */
export function recountPlaced(sqlite: Database, projectId: number | null): void {
  sqlite
    .query(
      `UPDATE enrollments SET counts_as_placed = ${countsAsPlaced("placed", "hire_date", "project_id")}
       WHERE (placed = 1 OR counts_as_placed = 1) AND ($project IS NULL OR project_id = $project)`,
    )
    .run({ project: projectId });
}

/** The minimum percent of each training type that has one, in a year. */
const minimumsQuery = preparedPerDatabase((db) =>
  db.select().from(placementMinimums).where(eq(placementMinimums.year, sql.placeholder("year"))).prepare(),
);

export function minimumsOf(db: Db, year: number): Map<string, number> {
  const rows = minimumsQuery(db).all({ year });
  return new Map(rows.map((r) => [r.trainingType, r.percent]));
}

/** Below the minimum: fewer placed than the percent asks. Exactly the minimum is not below; no trainees, nothing to miss. */
export const belowMinimum = (placed: number, enrollments: number, percent: number | null | undefined): boolean =>
  percent !== null && percent !== undefined && enrollments > 0 && placed * 100 < percent * enrollments;

export type MinimumsResult = { ok: true; changed: Record<string, number | null> } | { ok: false; field: string; error: string };

/**
 * Sets a year's minimums from a form: one text per training type, empty for none. Either
 * every value is valid and all are saved, or nothing changes.
 */
export function saveMinimums(db: Db, year: number, input: Record<string, string>): MinimumsResult {
  if (!getCampaign(db, year)) return { ok: false, field: "year", error: `Non esiste una campagna per l'anno ${year}: creala prima di fissarne i minimi.` };
  const types = activeCodes(db, "trainingTypes");
  const wanted = new Map<string, number | null>();
  for (const type of types) {
    const text = (input[type.code] ?? "").trim();
    if (text === "") {
      wanted.set(type.code, null);
      continue;
    }
    const percent = Number(text);
    if (!/^\d{1,3}$/.test(text) || percent < 1 || percent > 100) {
      return { ok: false, field: type.code, error: `Minimo di placement per ${type.description}: scrivi una percentuale intera da 1 a 100, o lascia vuoto se non c'è un minimo.` };
    }
    wanted.set(type.code, percent);
  }
  const current = minimumsOf(db, year);
  const changed: Record<string, number | null> = {};
  db.$client.transaction(() => {
    for (const [code, percent] of wanted) {
      if ((current.get(code) ?? null) === percent) continue;
      changed[code] = percent;
      db.$client.query("DELETE FROM placement_minimums WHERE year = ? AND training_type = ?").run(year, code);
      if (percent !== null) db.insert(placementMinimums).values({ year, trainingType: code, percent }).run();
    }
  })();
  return { ok: true, changed };
}
