import { eq, type Column, type SQL } from "drizzle-orm";
import type { User } from "./auth.ts";

const brand: unique symbol = Symbol("scope");

/**
 * Which agencies a request may see. Only `scopeOf` makes one, from the signed-in user,
 * and every agency-scoped query takes one, so a route cannot forget the filter.
 */
export type Scope = { readonly [brand]: true; readonly agencyId: number | "all" };

export function scopeOf(user: Pick<User, "role" | "agencyId">): Scope {
  if (user.role === "fund_operator") return { [brand]: true, agencyId: "all" };
  if (user.agencyId === null) throw new Error(`agency user without an agency`);
  return { [brand]: true, agencyId: user.agencyId };
}

/** A fund operator looking at one agency; an agency user keeps their own scope. */
export function narrowTo(scope: Scope, agencyId: number): Scope | null {
  if (scope.agencyId === "all") return { [brand]: true, agencyId };
  return scope.agencyId === agencyId ? scope : null;
}

/** The condition that keeps a query inside the scope (none for the fund). */
export function inScope(scope: Scope, agencyColumn: Column): SQL | undefined {
  return scope.agencyId === "all" ? undefined : eq(agencyColumn, scope.agencyId);
}
