import { and, asc, eq, ne } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, campaigns, ROLES, users, type Role } from "../db/schema.ts";
import { placementHolders } from "./notifications.ts";
import { revokeAgencyTokens } from "./api-tokens.ts";
import { createUser, hasPlacementPermission, oneTimePassword, parseUserEmail, resetPassword } from "./auth.ts";
import type { Clock } from "./clock.ts";

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

/**
 * Changes an agency. Making two-factor sign-in mandatory revokes its users' API tokens for
 * good, since a token skips the second step: new ones are made after signing in with it.
 */
export function updateAgency(
  db: Db,
  clock: Clock,
  id: number,
  input: { name: string; disabled: boolean; twoFactorRequired: boolean },
): AdminResult<{ tokensRevoked: number }> {
  if (input.name.trim().length < 2) return fail("name", "Scrivi la ragione sociale dell'agenzia.");
  return db.transaction(() => {
    const before = db.select({ twoFactorRequired: agencies.twoFactorRequired }).from(agencies).where(eq(agencies.id, id)).get();
    db.update(agencies).set({ name: input.name.trim(), disabled: input.disabled, twoFactorRequired: input.twoFactorRequired }).where(eq(agencies.id, id)).run();
    const tokensRevoked = before && !before.twoFactorRequired && input.twoFactorRequired ? revokeAgencyTokens(db, clock, id, "two_factor") : 0;
    return { ok: true, value: { tokensRevoked } } as const;
  });
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

/** A temporary password that the user must change at the next sign-in; their open sessions end, their API tokens are revoked. */
export async function setTemporaryPassword(db: Db, clock: Clock, id: number): Promise<string | null> {
  const user = getUserAccount(db, id);
  return user ? resetPassword(db, clock, user.email) : null;
}

const isDay = (text: string) => /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text));

/**
 * Creates or changes a campaign. `reminders`, when given, is the days before the deadline
 * on which incomplete agencies are reminded, as the fund writes them ("14, 7, 2"), and
 * whether reminders are on.
 */
export function saveCampaign(
  db: Db,
  input: { year: number; opensOn: string; deadline: string; reminders?: { days: string; on: boolean }; retentionYears?: string },
): AdminResult<null> {
  if (!Number.isInteger(input.year) || input.year < 2000 || input.year > 2100) return fail("year", "Scrivi un anno tra 2000 e 2100.");
  if (!isDay(input.opensOn)) return fail("opensOn", "Scrivi la data di apertura.");
  if (!isDay(input.deadline)) return fail("deadline", "Scrivi la data di scadenza.");
  if (input.deadline < input.opensOn) return fail("deadline", "La scadenza non può precedere l'apertura.");
  const reminders = input.reminders && reminderDaysOf(input.reminders.days);
  if (reminders && !reminders.ok) return reminders;
  const retention = input.retentionYears?.trim();
  if (retention && (!/^\d{1,3}$/.test(retention) || Number(retention) < 1 || Number(retention) > 100)) {
    return fail("retention", "Scrivi gli anni di conservazione dei dati personali, da 1 a 100, o lascia vuoto per l'impostazione del programma.");
  }
  const set = {
    opensOn: input.opensOn,
    deadline: input.deadline,
    ...(reminders?.ok ? { reminderDays: reminders.value, remindersOn: input.reminders!.on } : {}),
    ...(retention === undefined ? {} : { retentionYears: retention === "" ? null : Number(retention) }),
  };
  db.insert(campaigns)
    .values({ year: input.year, ...set })
    .onConflictDoUpdate({ target: campaigns.year, set })
    .run();
  return { ok: true, value: null };
}

/** "14, 7, 2" as days, nearest last; empty for none. */
function reminderDaysOf(text: string): AdminResult<number[]> {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const days = parts.map(Number);
  if (parts.length > 10 || days.some((d) => !Number.isInteger(d) || d < 1 || d > 120)) {
    return fail("reminders", "Scrivi i giorni prima della scadenza separati da virgole, ciascuno da 1 a 120 (per esempio 14, 7, 2), o lascia vuoto.");
  }
  return { ok: true, value: [...new Set(days)].sort((a, b) => b - a) };
}

/*
 * An agency's own administration (SPEC §13): its Responsabile Politiche Attive and its
 * Referenti manage the agency's Referenti and Operatori; the Responsabile and the fund's
 * operators stay the fund's to manage.
 */

/** Whether a user manages their own agency's users. */
export const managesAgencyUsers = (user: { role: Role; agencyId: number | null }) =>
  user.agencyId !== null && (user.role === "rpa" || user.role === "referent");

/** The roles an agency gives its own users. */
export const AGENCY_MANAGED_ROLES: readonly Role[] = ["referent", "operator"];

const ROLE_REFUSED =
  "Puoi assegnare solo i ruoli Referente e Operatore ApL: per un Responsabile Politiche Attive o un operatore del Fondo rivolgiti al Fondo.";

/** A role an agency may give, or why not. */
function managedRole(role: string | undefined): { ok: true; role: Role } | { ok: false; field: string; error: string } {
  return AGENCY_MANAGED_ROLES.includes(role as Role) ? { ok: true, role: role as Role } : fail("role", ROLE_REFUSED);
}

/**
 * The user of the manager's agency with this id, and why the manager may not change them;
 * undefined when there is no such user in the agency (another agency's users do not exist for it).
 */
type Manager = { id: number; agencyId: number | null; role: Role; placementPermission: boolean };

export function managedUser(db: Db, manager: Manager, id: number) {
  const user = getUserAccount(db, id);
  if (!user || user.agencyId === null || user.agencyId !== manager.agencyId) return undefined;
  return { user, refusal: managementRefusal(manager, user) };
}

/** Why a manager may not change a user of their own agency from its page; null when they may. */
export function managementRefusal(manager: Manager, user: { id: number; role: Role; placementPermission: boolean }): string | null {
  if (user.id === manager.id) return "È la tua utenza: la password si cambia dalla pagina Password, il resto lo cambia il Fondo.";
  if (user.role === "rpa") return "Il Responsabile Politiche Attive è gestito dal Fondo.";
  // Else a Referente without it would reach the data through a colleague's account.
  if (user.placementPermission && !hasPlacementPermission(manager)) return PERMISSION_HOLDERS_ONLY;
  return null;
}

const PERMISSION_HOLDERS_ONLY =
  "Il permesso Placement lo danno, e gli utenti che lo hanno li gestiscono, il Responsabile Politiche Attive e i Referenti che lo hanno: chiedi a loro.";

/** Creates a Referente or an Operatore of the manager's own agency, with a one-time password. */
export async function addAgencyUser(
  db: Db,
  manager: { agencyId: number | null; role: Role; placementPermission: boolean },
  input: { email: string; name: string; role: string | undefined; placementPermission: boolean },
): Promise<AdminResult<{ id: number; password: string }>> {
  const role = managedRole(input.role);
  if (!role.ok) return role;
  if (input.placementPermission && !hasPlacementPermission(manager)) return fail("placement", PERMISSION_HOLDERS_ONLY);
  return addUser(db, { ...input, role: role.role, agencyId: manager.agencyId });
}

/** Changes a Referente or an Operatore of the manager's own agency. */
export function updateAgencyUser(
  db: Db,
  manager: { role: Role; placementPermission: boolean },
  target: { id: number },
  input: { name: string; role: string | undefined; placementPermission: boolean; disabled: boolean },
): AdminResult<null> {
  const role = managedRole(input.role);
  if (!role.ok) return role;
  if (input.placementPermission && !hasPlacementPermission(manager)) return fail("placement", PERMISSION_HOLDERS_ONLY);
  return updateUser(db, target.id, { ...input, role: role.role });
}

/** The sentence for a user without the Placement permission: who in the agency can give it, by name. */
export function permissionRequest(db: Db, agencyId: number | null): string {
  const granters = agencyId === null ? [] : placementHolders(db, agencyId);
  const rpa = granters.filter((g) => g.role === "rpa").map((g) => g.name);
  const referents = granters.filter((g) => g.role === "referent").map((g) => g.name);
  const who = [
    ...(rpa.length ? [`al Responsabile Politiche Attive (${rpa.join(", ")})`] : []),
    ...(referents.length ? [`${referents.length === 1 ? "al Referente" : "a uno dei Referenti"} con il permesso (${referents.join(", ")})`] : []),
  ];
  return `Non hai il permesso Placement. Chiedi di abilitarti ${who.length ? who.join(" o ") : "al Fondo"}.`;
}

