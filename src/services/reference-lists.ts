import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { contractTypes, trainingTypes, vulnerableCategories } from "../db/schema.ts";
import type { ReferenceCodes } from "./declarations.ts";

/** The coded lists the fund edits (SPEC §3). */
const LISTS = { categories: vulnerableCategories, contractTypes, trainingTypes } as const;
export type ReferenceList = keyof typeof LISTS;

export type CodeEntry = { code: string; description: string };

/** The codes in use today, in the fund's order: what forms and files offer. */
export function activeCodes(db: Db, list: ReferenceList): CodeEntry[] {
  const table = LISTS[list];
  return db
    .select({ code: table.code, description: table.description })
    .from(table)
    .where(eq(table.active, true))
    .orderBy(asc(table.sortOrder))
    .all();
}

/** Every code with whether it is still in use: a code no longer in use is told apart from an unknown one. */
export function referenceCodes(db: Db): ReferenceCodes {
  const codes = (list: ReferenceList) => {
    const table = LISTS[list];
    return new Map(db.select({ code: table.code, active: table.active }).from(table).all().map((r) => [r.code, r.active]));
  };
  return { categories: codes("categories"), contractTypes: codes("contractTypes") };
}
