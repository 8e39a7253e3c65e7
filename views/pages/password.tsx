import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";

export function PasswordPage(props: {
  ctx: PageContext;
  mustChange: boolean;
  errors: Partial<Record<"current" | "next" | "repeat", string>>;
  done?: boolean;
}) {
  const error = (field: "current" | "next" | "repeat") =>
    props.errors[field] && (
      <span class="field-error" role="alert">
        {props.errors[field]}
      </span>
    );
  return (
    <Layout ctx={props.ctx}>
      <h1>Cambia la password</h1>
      {props.mustChange && (
        <p class="notice info">Stai usando una password provvisoria: scegline una nuova per continuare.</p>
      )}
      {props.done && (
        <p class="notice info" role="status">
          Password cambiata.
        </p>
      )}
      <form class="stacked card" method="post" action="/profilo/password">
        <input type="hidden" name="_csrf" value={props.ctx.csrfToken} />
        <label>
          Password attuale
          <input type="password" name="attuale" autocomplete="current-password" required />
          {error("current")}
        </label>
        <label>
          Nuova password (almeno 10 caratteri)
          <input type="password" name="nuova" autocomplete="new-password" required minlength={10} />
          {error("next")}
        </label>
        <label>
          Ripeti la nuova password
          <input type="password" name="ripeti" autocomplete="new-password" required />
          {error("repeat")}
        </label>
        <div>
          <button type="submit">Cambia password</button>
        </div>
      </form>
    </Layout>
  );
}
