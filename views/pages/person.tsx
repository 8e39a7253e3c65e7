import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";
import { PostForm } from "../partials/forms.tsx";

export type PersonSummary = { codiceFiscale: string; surname: string; name: string; enrollments: number; changes: number; uploads: number; exports: number };

/**
 * The fund's search for one person by codice fiscale, and the download of what is held.
 * Both post the code, so that it stays out of addresses, histories and proxies' logs.
 */
export function PersonPage(props: { ctx: PageContext; codiceFiscale?: string; error?: string; found?: PersonSummary }) {
  const p = props.found;
  return (
    <Layout ctx={props.ctx}>
      <h1>Dati di una persona</h1>
      <p class="subtitle">
        Per rispondere a chi chiede quali dati Placement tratta su di sé: cerca il codice fiscale e scarica il file con le iscrizioni,
        le dichiarazioni, lo storico delle modifiche, i caricamenti e i download che l'hanno riguardata. Ogni ricerca è nel registro.
      </p>
      <PostForm class="card stacked" action="/fondo/persona" csrfToken={props.ctx.csrfToken} submit="Cerca">
        {props.error && (
          <p class="notice error" role="alert">
            {props.error}
          </p>
        )}
        <label>
          Codice fiscale
          <input type="text" name="cf" required maxlength={16} autocomplete="off" value={props.codiceFiscale ?? ""} />
        </label>
      </PostForm>
      {p && (
        <section class="card" id="persona">
          <h2>
            {p.surname} {p.name} <span class="mono">{p.codiceFiscale}</span>
          </h2>
          <p>
            Iscrizioni: <strong>{p.enrollments}</strong> · modifiche: <strong>{p.changes}</strong> · righe di caricamenti:{" "}
            <strong>{p.uploads}</strong> · download che le contenevano: <strong>{p.exports}</strong>
          </p>
          <PostForm class="inline" action="/fondo/persona/file" csrfToken={props.ctx.csrfToken} submit="Scarica tutti i dati (Excel)">
            <input type="hidden" name="cf" value={p.codiceFiscale} />
          </PostForm>
        </section>
      )}
    </Layout>
  );
}
