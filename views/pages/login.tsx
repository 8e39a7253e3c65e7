import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";
import { PostForm } from "../partials/forms.tsx";

export function LoginPage(props: { ctx: PageContext; email?: string; error?: string; next?: string }) {
  return (
    <Layout ctx={props.ctx}>
      <div class="login card">
        <h1>Placement</h1>
        <p class="subtitle">Fasce deboli e dati di placement dei progetti formativi. Accedi con le credenziali ricevute.</p>
        {props.error && (
          <p class="notice error" role="alert">
            {props.error}
          </p>
        )}
        <PostForm class="stacked" action="/login" csrfToken={props.ctx.csrfToken} submit="Accedi">
          {props.next && <input type="hidden" name="next" value={props.next} />}
          <label>
            E-mail
            <input type="email" name="email" autocomplete="username" required value={props.email ?? ""} />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="current-password" required />
          </label>
        </PostForm>
      </div>
    </Layout>
  );
}
