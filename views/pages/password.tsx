import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";
import { PostForm } from "../partials/forms.tsx";

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
      <PostForm class="stacked card" action="/profilo/password" csrfToken={props.ctx.csrfToken} submit="Cambia password">
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
      </PostForm>
    </Layout>
  );
}
