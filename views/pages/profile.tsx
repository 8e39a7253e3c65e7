import { raw } from "hono/html";
import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";
import type { Enrolment } from "../../src/services/two-factor.ts";
import { PostForm } from "../partials/forms.tsx";
import { TokenSection, type TokenSectionState } from "../partials/api-tokens.tsx";

/** The API tokens' section, for agency users only. */
export type ProfileTokens = { state: TokenSectionState; now: Date; defaultDays: number; maxDays: number };

export type SecondFactorState =
  | { kind: "off"; enrolment?: Enrolment }
  | { kind: "on"; recoveryCodesLeft: number; newRecoveryCodes?: string[] };

/** The user's own page: the password, and the second factor with its enrolment. */
export function ProfilePage(props: { ctx: PageContext; required: boolean; state: SecondFactorState; error?: string; notice?: string; tokens?: ProfileTokens }) {
  const s = props.state;
  return (
    <Layout ctx={props.ctx}>
      <h1>Profilo</h1>
      {props.notice && (
        <p class="notice info" role="status">
          {props.notice}
        </p>
      )}
      <section class="card">
        <h2>Password</h2>
        <p>
          <a href="/profilo/password">Cambia la password</a>
        </p>
      </section>
      <section class="card" id="due-passaggi">
        <h2>Verifica in due passaggi</h2>
        {props.required && s.kind === "off" && (
          <p class="notice warn" role="alert">
            La verifica in due passaggi è obbligatoria per la tua utenza: attivala per continuare a usare Placement.
          </p>
        )}
        {props.error && (
          <p class="notice error" role="alert">
            {props.error}
          </p>
        )}
        {s.kind === "on" ? <SecondFactorOn state={s} required={props.required} csrfToken={props.ctx.csrfToken} /> : <SecondFactorOff state={s} csrfToken={props.ctx.csrfToken} />}
      </section>
      {props.tokens && <TokenSection {...props.tokens} csrfToken={props.ctx.csrfToken} />}
    </Layout>
  );
}

function SecondFactorOff(props: { state: Extract<SecondFactorState, { kind: "off" }>; csrfToken: string }) {
  const enrolment = props.state.enrolment;
  if (!enrolment) {
    return (
      <>
        <p>
          Non attiva. Con la verifica in due passaggi, per accedere servono la password e un codice di sei cifre che un'app di
          autenticazione sul telefono (per esempio FreeOTP, Google Authenticator o Microsoft Authenticator) mostra ogni trenta secondi.
        </p>
        <PostForm class="inline" action="/profilo/due-passaggi" csrfToken={props.csrfToken} submit="Attiva" />
      </>
    );
  }
  return (
    <>
      <ol>
        <li>Apri l'app di autenticazione e inquadra il codice QR (oppure scrivi a mano la chiave qui sotto).</li>
        <li>Scrivi le sei cifre che l'app mostra per Placement e premi «Conferma».</li>
      </ol>
      <div class="qr" aria-label="Codice QR da inquadrare con l'app">
        {raw(enrolment.qrSvg)}
      </div>
      <p>
        Chiave: <code class="mono">{enrolment.secret.replace(/(.{4})/g, "$1 ").trim()}</code>
      </p>
      <PostForm class="stacked" action="/profilo/due-passaggi/conferma" csrfToken={props.csrfToken} submit="Conferma">
        <label>
          Codice dell'app
          <input type="text" name="codice" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength={6} required />
        </label>
      </PostForm>
    </>
  );
}

function SecondFactorOn(props: { state: Extract<SecondFactorState, { kind: "on" }>; required: boolean; csrfToken: string }) {
  const codes = props.state.newRecoveryCodes;
  return (
    <>
      <p>
        Attiva. Codici di recupero ancora validi: <strong>{props.state.recoveryCodesLeft}</strong>.
      </p>
      {codes && (
        <div class="notice info" role="status" id="codici-recupero">
          <p>
            Ecco i tuoi dieci codici di recupero. Ognuno vale una sola volta, al posto del codice dell'app se perdi il telefono.
            Stampali o copiali ora e conservali in un luogo sicuro: non saranno mostrati di nuovo.
          </p>
          <ul class="mono">
            {codes.map((code) => (
              <li>{code}</li>
            ))}
          </ul>
        </div>
      )}
      <CodeForm action="/profilo/due-passaggi/codici" csrfToken={props.csrfToken} submit="Genera nuovi codici di recupero" />
      {props.required ? (
        <p class="muted">È obbligatoria per la tua utenza: non si può disattivare. Se perdi il telefono e i codici, chiedi al Fondo di azzerarla.</p>
      ) : (
        <CodeForm action="/profilo/due-passaggi/disattiva" csrfToken={props.csrfToken} submit="Disattiva" />
      )}
    </>
  );
}

/** An action on the second factor, confirmed with a code of the app or a recovery code. */
function CodeForm(props: { action: string; csrfToken: string; submit: string }) {
  return (
    <PostForm class="inline" action={props.action} csrfToken={props.csrfToken} submit={props.submit}>
      <label>
        Codice dell'app o di recupero
        <input type="text" name="codice" autocomplete="one-time-code" maxlength={20} required />
      </label>
    </PostForm>
  );
}
