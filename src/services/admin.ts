import { and, asc, eq, ne } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, campaigns, ROLES, users, type Role } from "../db/schema.ts";
import { createUser, hashPassword, oneTimePassword, parseUserEmail } from "./auth.ts";

/*
 * What the fund's staff manage: agencies, their users, campaigns. Each change returns
 * either the result or an Italian sentence saying what to correct.
 */

export type AdminResult<T> = { ok: true; value: T } | { ok: false; field: string; error: string };

export const fail = (field: string, error: string) => ({ ok: false, field, error }) as const;

/** A role from a form; anything unknown becomes the least powerful one. */
export const parseRole = (value: string | undefined): Role => (ROLES.includes(value as Role) ? (value as Role) : "operator");

export function getUserAccount(db: Db, id: number) {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export function listAgencyAccounts(db: Db) {
  return db.select().from(agencies).orderBy(asc(agencies.code)).all();
}

export function createAgency(db: Db, input: { code: string; name: string }): AdminResult<number> {
  const code = input.code.trim().toUpperCase();
  if (!/^[A-Z0-9-]{2,20}$/.test(code)) return fail("code", "Il codice deve avere da 2 a 20 lettere, cifre o trattini.");
  if (input.name.trim().length < 2) return fail("name", "Scrivi la ragione sociale dell'agenzia.");
  if (db.select({ id: agencies.id }).from(agencies).where(eq(agencies.code, code)).get()) {
    return fail("code", `Esiste già un'agenzia con codice ${code}.`);
  }
  return { ok: true, value: db.insert(agencies).values({ code, name: input.name.trim() }).returning({ id: agencies.id }).get().id };
}

export function updateAgency(db: Db, id: number, input: { name: string; disabled: boolean }): AdminResult<null> {
  if (input.name.trim().length < 2) return fail("name", "Scrivi la ragione sociale dell'agenzia.");
  db.update(agencies).set({ name: input.name.trim(), disabled: input.disabled }).where(eq(agencies.id, id)).run();
  return { ok: true, value: null };
}

export function agencyUsers(db: Db, agencyId: number | null) {
  return db
    .select()
    .from(users)
    .where(agencyId === null ? eq(users.role, "fund_operator") : eq(users.agencyId, agencyId))
    .orderBy(asc(users.role), asc(users.email))
    .all();
}

/** At most one active Responsabile Politiche Attive per agency. */
function rpaTaken(db: Db, agencyId: number, exceptUserId: number | null): boolean {
  return !!db
    .select({ id: users.id })
    .from(users)
    .where(
      and(
        eq(users.agencyId, agencyId),
        eq(users.role, "rpa"),
        eq(users.disabled, false),
        exceptUserId === null ? undefined : ne(users.id, exceptUserId),
      ),
    )
    .get();
}

export type UserInput = { email: string; name: string; role: Role; agencyId: number | null; placementPermission: boolean };

/** Creates a user with a one-time password, returned to be handed over once. */
export async function addUser(db: Db, input: UserInput): Promise<AdminResult<{ id: number; password: string }>> {
  const email = parseUserEmail(input.email);
  if (!email) return fail("email", "Scrivi un indirizzo e-mail valido, nella forma nome.cognome@dominio.it.");
  if (input.name.trim().length < 2) return fail("name", "Scrivi nome e cognome.");
  if (input.role !== "fund_operator" && input.agencyId === null) return fail("role", "Gli utenti di agenzia appartengono a un'agenzia.");
  if (input.role === "fund_operator" && input.agencyId !== null) return fail("role", "Gli operatori del Fondo non appartengono a un'agenzia.");
  if (input.role === "rpa" && rpaTaken(db, input.agencyId!, null)) {
    return fail("role", "L'agenzia ha già un Responsabile Politiche Attive attivo: disabilitalo prima di nominarne un altro.");
  }
  if (db.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) {
    return fail("email", `Esiste già un utente con e-mail ${email}.`);
  }
  const password = oneTimePassword();
  const user = await createUser(db, { ...input, email, name: input.name.trim(), password, mustChangePassword: true });
  return { ok: true, value: { id: user.id, password } };
}

export function updateUser(
  db: Db,
  id: number,
  input: { name: string; role: Role; placementPermission: boolean; disabled: boolean },
): AdminResult<null> {
  const user = db.select().from(users).where(eq(users.id, id)).get();
  if (!user) return fail("user", "Utente non trovato.");
  if (input.name.trim().length < 2) return fail("name", "Scrivi nome e cognome.");
  if ((input.role === "fund_operator") !== (user.role === "fund_operator")) {
    return fail("role", "Un utente di agenzia non diventa operatore del Fondo, né il contrario: crea un nuovo utente.");
  }
  if (input.role === "rpa" && !input.disabled && rpaTaken(db, user.agencyId!, id)) {
    return fail("role", "L'agenzia ha già un Responsabile Politiche Attive attivo: disabilitalo prima di nominarne un altro.");
  }
  db.update(users)
    .set({
      name: input.name.trim(),
      role: input.role,
      placementPermission: input.role === "rpa" || input.placementPermission,
      disabled: input.disabled,
    })
    .where(eq(users.id, id))
    .run();
  return { ok: true, value: null };
}

/** A temporary password that the user must change at the next sign-in. */
export async function setTemporaryPassword(db: Db, id: number): Promise<string | null> {
  const password = oneTimePassword();
  const changed = db
    .update(users)
    .set({ passwordHash: await hashPassword(password), mustChangePassword: true })
    .where(eq(users.id, id))
    .returning({ id: users.id })
    .all();
  return changed.length ? password : null;
}

const isDay = (text: string) => /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text));

export function saveCampaign(db: Db, input: { year: number; opensOn: string; deadline: string }): AdminResult<null> {
  if (!Number.isInteger(input.year) || input.year < 2000 || input.year > 2100) return fail("year", "Scrivi un anno tra 2000 e 2100.");
  if (!isDay(input.opensOn)) return fail("opensOn", "Scrivi la data di apertura.");
  if (!isDay(input.deadline)) return fail("deadline", "Scrivi la data di scadenza.");
  if (input.deadline < input.opensOn) return fail("deadline", "La scadenza non può precedere l'apertura.");
  db.insert(campaigns)
    .values(input)
    .onConflictDoUpdate({ target: campaigns.year, set: { opensOn: input.opensOn, deadline: input.deadline } })
    .run();
  return { ok: true, value: null };
}
