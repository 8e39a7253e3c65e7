import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";
import { PostButton, PostForm } from "../partials/forms.tsx";

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

/** The second step of signing in: a code of the authenticator app, or a recovery code. */
export function SecondStepPage(props: { ctx: PageContext; error?: string; next?: string }) {
  return (
    <Layout ctx={props.ctx}>
      <div class="login card">
        <h1>Verifica in due passaggi</h1>
        <p class="subtitle">
          Scrivi le sei cifre che l'app di autenticazione mostra ora per Placement. Se non hai il telefono, scrivi uno dei codici di
          recupero che hai conservato.
        </p>
        {props.error && (
          <p class="notice error" role="alert">
            {props.error}
          </p>
        )}
        <PostForm class="stacked" action="/login/codice" csrfToken={props.ctx.csrfToken} submit="Verifica">
          {props.next && <input type="hidden" name="next" value={props.next} />}
          <label>
            Codice
            <input type="text" name="codice" autocomplete="one-time-code" inputmode="numeric" required maxlength={20} autofocus />
          </label>
        </PostForm>
        <p class="muted">
          Hai perso il telefono e i codici di recupero? Chiedi al Fondo di azzerare la verifica in due passaggi della tua utenza.
        </p>
        <PostButton action="/logout" csrfToken={props.ctx.csrfToken}>
          Accedi con un'altra utenza
        </PostButton>
      </div>
    </Layout>
  );
}
