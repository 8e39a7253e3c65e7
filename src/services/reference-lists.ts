import { asc, eq } from "drizzle-orm";
import { preparedPerDatabase, type Db } from "../db/client.ts";
import { contractTypes, trainingTypes, vulnerableCategories } from "../db/schema.ts";
import { fail, type AdminResult } from "./admin.ts";
import type { ReferenceCodes } from "./declarations.ts";

/** The coded lists the fund edits (SPEC §3): read here by forms, files and rules, and changed here only. */
const LISTS = { categories: vulnerableCategories, contractTypes, trainingTypes } as const;
export type ReferenceList = keyof typeof LISTS;

export type CodeEntry = { code: string; description: string };

/** The codes in use today, in the fund's order: what forms and files offer. */
export function activeCodes(db: Db, list: ReferenceList): CodeEntry[] {
  return activeQueries(db)[list].all();
}

// Forms and pages read them at every request: built and prepared once.
const activeQueries = preparedPerDatabase((db) => {
  const active = (list: ReferenceList) => {
    const table = LISTS[list];
    return db
      .select({ code: table.code, description: table.description })
      .from(table)
      .where(eq(table.active, true))
      .orderBy(asc(table.sortOrder))
      .prepare();
  };
  return { categories: active("categories"), contractTypes: active("contractTypes"), trainingTypes: active("trainingTypes") };
});

/** Every code with whether it is still in use: a code no longer in use is told apart from an unknown one. */
export function referenceCodes(db: Db): ReferenceCodes {
  const codes = (list: ReferenceList) => {
    const table = LISTS[list];
    return new Map(db.select({ code: table.code, active: table.active }).from(table).all().map((r) => [r.code, r.active]));
  };
  return { categories: codes("categories"), contractTypes: codes("contractTypes") };
}

// Where each list's codes are used: a used code can be disabled, never deleted.
const USES: Record<ReferenceList, string[]> = {
  trainingTypes: ["SELECT 1 FROM projects WHERE training_type = $code"],
  categories: ["SELECT 1 FROM classes WHERE category = $code", "SELECT 1 FROM enrollments WHERE fascia_debole = $code"],
  contractTypes: ["SELECT 1 FROM enrollments WHERE contract_type = $code"],
};

/** Every code of a list, in use or not, in the fund's order: what the fund edits. */
export function referenceEntries(db: Db, list: ReferenceList) {
  const table = LISTS[list];
  return db.select().from(table).orderBy(asc(table.sortOrder), asc(table.code)).all();
}

export function addReferenceEntry(db: Db, list: ReferenceList, input: { code: string; description: string }): AdminResult<null> {
  const table = LISTS[list];
  const code = input.code.trim().toUpperCase();
  if (!/^[A-Z0-9]{2,10}$/.test(code) || code === "NO") {
    return fail("code", "Il codice deve avere da 2 a 10 lettere o cifre (e non può essere NO).");
  }
  if (input.description.trim().length < 3) return fail("description", "Scrivi la descrizione.");
  if (db.select({ code: table.code }).from(table).where(eq(table.code, code)).get()) {
    return fail("code", `Il codice ${code} esiste già: modificalo nella tabella.`);
  }
  const last = referenceEntries(db, list).at(-1)?.sortOrder ?? 0;
  db.insert(table).values({ code, description: input.description.trim(), sortOrder: last + 1 }).run();
  return { ok: true, value: null };
}

export function updateReferenceEntry(
  db: Db,
  list: ReferenceList,
  code: string,
  input: { description: string; active: boolean; sortOrder: number },
): AdminResult<null> {
  const table = LISTS[list];
  if (input.description.trim().length < 3) return fail("description", "Scrivi la descrizione.");
  const changed = db
    .update(table)
    .set({ description: input.description.trim(), active: input.active, sortOrder: Number.isInteger(input.sortOrder) ? input.sortOrder : 0 })
    .where(eq(table.code, code))
    .returning({ code: table.code })
    .all();
  return changed.length ? { ok: true, value: null } : fail("code", `Il codice ${code} non esiste.`);
}

export function deleteReferenceEntry(db: Db, list: ReferenceList, code: string): AdminResult<null> {
  const table = LISTS[list];
  if (USES[list].some((sql) => db.$client.query(`${sql} LIMIT 1`).get({ code }))) {
    return fail("code", `Il codice ${code} è in uso: disabilitalo invece di eliminarlo.`);
  }
  const deleted = db.delete(table).where(eq(table.code, code)).returning({ code: table.code }).all();
  return deleted.length ? { ok: true, value: null } : fail("code", `Il codice ${code} non esiste.`);
}
