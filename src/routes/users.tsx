import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { AgencyUsersPage, type AgencyUsersState } from "../../views/pages/agency-users.tsx";
import { clientAddress, idParam, notFound, pageContext, requireUser, signedInUser, type AppEnv } from "../http.ts";
import {
  addAgencyUser,
  AGENCY_MANAGED_ROLES,
  agencyUsers,
  managedUser,
  managementRefusal,
  managesAgencyUsers,
  setTemporaryPassword,
  updateAgencyUser,
} from "../services/admin.ts";
import { recordAudit } from "../services/audit.ts";

// The agency's own administration of its users (SPEC §13), for its Responsabile and Referenti.

const userForm = z.object({
  email: z.string().max(320).catch(""),
  nome: z.string().max(200).catch(""),
  ruolo: z.string().max(40).optional().catch(undefined),
  placement: z.string().optional().catch(undefined),
  disabilitato: z.string().optional().catch(undefined),
});

/** The signed-in manager of an agency's users; operators of the agency may not, the fund has its own pages. */
function manager(c: Context<AppEnv>) {
  const user = signedInUser(c);
  if (user.agencyId === null) notFound();
  if (!managesAgencyUsers(user)) {
    throw new HTTPException(403, { message: "Gli utenti dell'agenzia li gestiscono il Responsabile Politiche Attive e i Referenti: chiedi a loro." });
  }
  return user;
}

function usersPage(c: Context<AppEnv>, state: AgencyUsersState, status: 200 | 422 = 200) {
  const user = manager(c);
  const { db } = c.get("deps");
  return c.html(
    <AgencyUsersPage
      ctx={pageContext(c, "Utenti dell'agenzia", "utenti")}
      users={agencyUsers(db, user.agencyId)}
      roles={AGENCY_MANAGED_ROLES}
      refusal={(u) => managementRefusal(user, u)}
      state={state}
    />,
    status,
  );
}

function audit(c: Context<AppEnv>, action: string, target: string, detail: Record<string, unknown>) {
  const { db, clock } = c.get("deps");
  const user = signedInUser(c);
  // By the agency, so that the fund finds it under the agency in the audit log.
  recordAudit(db, clock, { action, userId: user.id, agencyId: user.agencyId, target, detail: { ...detail, by: "agency" }, address: clientAddress(c) });
}

/** The user of the manager's agency named in the path, and why they may not be changed here, if so. */
const target = (c: Context<AppEnv>) => managedUser(c.get("deps").db, manager(c), idParam(c, "id")) ?? notFound();

export const userRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get("/", (c) => usersPage(c, {}))
  .post("/", async (c) => {
    const user = manager(c);
    const form = userForm.parse(await c.req.parseBody());
    const result = await addAgencyUser(c.get("deps").db, user, {
      email: form.email,
      name: form.nome,
      role: form.ruolo,
      placementPermission: form.placement === "1",
    });
    if (!result.ok) return usersPage(c, { error: result.error, values: { email: form.email, nome: form.nome, ruolo: form.ruolo ?? "" } }, 422);
    audit(c, "user_create", `user:${result.value.id}`, { role: form.ruolo, placement: form.placement === "1" });
    const email = form.email.trim().toLowerCase();
    return usersPage(c, { notice: `Utente ${email} creato. Password provvisoria, da comunicare all'utente e da cambiare al primo accesso: ${result.value.password}` });
  })
  .post("/:id", async (c) => {
    const { user, refusal } = target(c);
    if (refusal) return usersPage(c, { error: refusal }, 422);
    const form = userForm.parse(await c.req.parseBody());
    const change = { name: form.nome, role: form.ruolo, placementPermission: form.placement === "1", disabled: form.disabilitato === "1" };
    const result = updateAgencyUser(c.get("deps").db, manager(c), user, change);
    if (!result.ok) return usersPage(c, { error: result.error }, 422);
    audit(c, "user_update", `user:${user.id}`, { role: change.role, placement: change.placementPermission, disabled: change.disabled });
    return usersPage(c, { notice: `Utente ${user.email} aggiornato.` });
  })
  .post("/:id/password", async (c) => {
    const { user, refusal } = target(c);
    if (refusal) return usersPage(c, { error: refusal }, 422);
    const password = (await setTemporaryPassword(c.get("deps").db, c.get("deps").clock, user.id))!;
    audit(c, "user_temporary_password", `user:${user.id}`, {});
    return usersPage(c, { notice: `Password provvisoria di ${user.email}, da comunicare all'utente e da cambiare al prossimo accesso: ${password}` });
  });
