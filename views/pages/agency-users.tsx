import type { PageContext } from "../context.ts";
import type { Role } from "../../src/db/schema.ts";
import type { User } from "../../src/services/auth.ts";
import { Layout } from "../layout.tsx";
import { NewUserForm, UsersTable } from "../partials/users.tsx";

export type AgencyUsersState = { error?: string; notice?: string; values?: Record<string, string> };

/** An agency's users as its Responsabile Politiche Attive and Referenti manage them. */
export function AgencyUsersPage(props: {
  ctx: PageContext;
  users: User[];
  roles: readonly Role[];
  refusal: (user: User) => string | null;
  state: AgencyUsersState;
}) {
  const { state } = props;
  return (
    <Layout ctx={props.ctx}>
      <h1>Utenti dell'agenzia</h1>
      <p class="subtitle">
        Il Responsabile Politiche Attive e i Referenti creano Referenti e Operatori, danno o tolgono il permesso Placement, li
        disabilitano e danno una password provvisoria. Il Responsabile Politiche Attive è gestito dal Fondo, che vede ogni modifica
        nel registro delle attività.
      </p>
      {state.error && (
        <p class="notice error" role="alert">
          {state.error}
        </p>
      )}
      {state.notice && (
        <p class="notice info" role="status">
          {state.notice}
        </p>
      )}
      <UsersTable ctx={props.ctx} users={props.users} roles={[...props.roles]} base="/utenti" readOnly={props.refusal} />
      <NewUserForm ctx={props.ctx} action="/utenti" roles={[...props.roles]} values={state.values ?? {}} />
    </Layout>
  );
}
