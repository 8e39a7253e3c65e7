import type { PageContext } from "../context.ts";
import type { Role } from "../../src/db/schema.ts";
import type { User } from "../../src/services/auth.ts";
import { ROLE_NAMES } from "../layout.tsx";
import { CsrfField, PostButton, PostForm } from "./forms.tsx";
import { TableHead } from "./table-head.tsx";

/**
 * Users with a form each: name, role, Placement permission, disabled, and a temporary
 * password. `base` is where each user's changes are posted; a user in `readOnly` is listed
 * without them (who may not be changed from this page, and why).
 */
export function UsersTable(props: {
  ctx: PageContext;
  users: User[];
  roles: Role[];
  base: string;
  readOnly?: (user: User) => string | null;
  /** The fund's power: removing the second factor of a user who lost the phone. */
  resetsSecondFactor?: boolean;
}) {
  return (
    <table id="users">
      <TableHead headings={["E-mail", "Nome", "Ruolo", "Permesso Placement", "Disabilitato", "", ""]} />
      <tbody>
        {props.users.map((u) => (
          <tr data-user={u.email}>
            <td>{u.email}</td>
            {props.readOnly?.(u) ? (
              <td colspan={6}>
                {u.name} · {ROLE_NAMES[u.role]}
                {u.placementPermission ? " · Placement" : ""}
                {u.disabled ? " · disabilitato" : ""} <span class="muted">({props.readOnly(u)})</span>
              </td>
            ) : (
              <UserForms ctx={props.ctx} user={u} roles={props.roles} base={props.base} resetsSecondFactor={props.resetsSecondFactor ?? false} />
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function UserForms(props: { ctx: PageContext; user: User; roles: Role[]; base: string; resetsSecondFactor: boolean }) {
  const u = props.user;
  return (
    <>
      <td colspan={4}>
        <form method="post" action={`${props.base}/${u.id}`} class="inline">
          <CsrfField token={props.ctx.csrfToken} />
          <input type="text" name="nome" value={u.name} aria-label="Nome" required />
          <select name="ruolo" aria-label="Ruolo">
            {props.roles.map((r) => (
              <option value={r} selected={r === u.role}>
                {ROLE_NAMES[r]}
              </option>
            ))}
          </select>
          <label class="check">
            <input type="checkbox" name="placement" value="1" checked={u.placementPermission} /> Placement
          </label>
          <label class="check">
            <input type="checkbox" name="disabilitato" value="1" checked={u.disabled} /> Disabilitato
          </label>
          <button type="submit">Salva</button>
        </form>
      </td>
      <td>
        {u.mustChangePassword && <span class="badge warn">password provvisoria</span>}
        {u.totpSecret && <span class="badge ok">due passaggi</span>}
      </td>
      <td>
        <PostButton action={`${props.base}/${u.id}/password`} csrfToken={props.ctx.csrfToken}>
          Password provvisoria
        </PostButton>
        {props.resetsSecondFactor && u.totpSecret && (
          <PostButton action={`${props.base}/${u.id}/due-passaggi`} csrfToken={props.ctx.csrfToken}>
            Azzera verifica in due passaggi
          </PostButton>
        )}
      </td>
    </>
  );
}

/** A new user: e-mail, name, and the role and permission when there is a choice. */
export function NewUserForm(props: { ctx: PageContext; action: string; roles: Role[]; values: Record<string, string> }) {
  const v = props.values;
  return (
    <PostForm class="card stacked" action={props.action} csrfToken={props.ctx.csrfToken} submit="Crea utente">
      <h2>Nuovo utente</h2>
      <label>
        E-mail
        <input type="email" name="email" required value={v.email ?? ""} />
      </label>
      <label>
        Nome e cognome
        <input type="text" name="nome" required value={v.nome ?? ""} />
      </label>
      {props.roles.length > 1 ? (
        <label>
          Ruolo
          <select name="ruolo">
            {props.roles.map((r) => (
              <option value={r} selected={r === v.ruolo}>
                {ROLE_NAMES[r]}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <input type="hidden" name="ruolo" value={props.roles[0]} />
      )}
      {props.roles.length > 1 && (
        <label class="check">
          <input type="checkbox" name="placement" value="1" checked={v.placement === "1"} /> Permesso Placement
        </label>
      )}
    </PostForm>
  );
}
