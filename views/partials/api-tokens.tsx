import { formatDateTime } from "../../src/format.ts";
import type { TokenListing } from "../../src/services/api-tokens.ts";
import { CsrfField, PostButton } from "./forms.tsx";

const REVOKED_BY: Record<string, string> = {
  user: "dall'utente",
  fund: "dal Fondo",
  cli: "da riga di comando",
  password: "per il cambio di password",
  two_factor: "per la verifica in due passaggi resa obbligatoria",
};

function tokenState(t: TokenListing, now: Date): string {
  if (t.revokedAt) return `Revocato il ${formatDateTime(t.revokedAt)} ${REVOKED_BY[t.revokedBy ?? ""] ?? ""}`.trim();
  if (t.expiresAt <= now) return "Scaduto";
  return "Attivo";
}

/** Tokens with their dates and Revoca; with `owners` the user and agency of each (the fund's list). */
export function TokenTable(props: { tokens: TokenListing[]; now: Date; csrfToken: string; revokeBase: string; owners?: boolean }) {
  if (props.tokens.length === 0) return <p class="notice info">Nessun token finora.</p>;
  return (
    <table id="api-tokens">
      <thead>
        <tr>
          {props.owners && <th scope="col">Agenzia</th>}
          {props.owners && <th scope="col">Utente</th>}
          <th scope="col">Nome</th>
          <th scope="col">Creato</th>
          <th scope="col">Ultimo uso</th>
          <th scope="col">Scadenza</th>
          <th scope="col">Stato</th>
          <th scope="col"></th>
        </tr>
      </thead>
      <tbody>
        {props.tokens.map((t) => {
          const active = !t.revokedAt && t.expiresAt > props.now;
          return (
            <tr>
              {props.owners && <td>{t.agencyCode ?? "—"}</td>}
              {props.owners && <td>{t.userEmail}</td>}
              <td>{t.name}</td>
              <td>{formatDateTime(t.createdAt)}</td>
              <td>{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : "mai"}</td>
              <td>{formatDateTime(t.expiresAt)}</td>
              <td>{tokenState(t, props.now)}</td>
              <td>
                {active && (
                  <PostButton action={`${props.revokeBase}/${t.id}/revoca`} csrfToken={props.csrfToken}>
                    Revoca
                  </PostButton>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export type TokenSectionState = {
  tokens: TokenListing[];
  /** Why this user may not have tokens; then only the sentence shows. */
  refusal: string | null;
  created?: { name: string; token: string; expiresAt: Date };
  error?: string;
  values?: { name: string; days: string };
};

/** The Profilo section where an agency user makes and revokes their API tokens. */
export function TokenSection(props: { state: TokenSectionState; now: Date; csrfToken: string; defaultDays: number; maxDays: number }) {
  const s = props.state;
  return (
    <section class="card" id="token-api">
      <h2>Token API</h2>
      <p>
        Un token API permette ai sistemi della tua agenzia di prenotare i file, caricarli e leggere l'esito senza passare da questa pagina,
        con i tuoi stessi permessi. Leggi la <a href="/profilo/api">documentazione dell'API</a>.
      </p>
      {s.refusal ? (
        <p class="notice info">{s.refusal}</p>
      ) : (
        <>
          {s.created && (
            <div class="notice ok" role="status">
              <p>
                Token «{s.created.name}» creato, valido fino al {formatDateTime(s.created.expiresAt)}. Copialo ora: non sarà più mostrato.
              </p>
              <p>
                <code id="new-token">{s.created.token}</code>
              </p>
            </div>
          )}
          {s.error && (
            <p class="notice error" role="alert">
              {s.error}
            </p>
          )}
          <form class="inline" method="post" action="/profilo/token">
            <CsrfField token={props.csrfToken} />
            <label>
              Nome <input name="nome" required maxlength={80} value={s.values?.name ?? ""} placeholder="per esempio: gestionale HR" />
            </label>
            <label>
              Durata in giorni <input name="giorni" type="number" min={1} max={props.maxDays} required value={s.values?.days ?? String(props.defaultDays)} />
            </label>
            <label>
              La tua password <input name="password" type="password" required autocomplete="current-password" />
            </label>
            <button type="submit">Crea token</button>
          </form>
          <TokenTable tokens={s.tokens} now={props.now} csrfToken={props.csrfToken} revokeBase="/profilo/token" />
        </>
      )}
    </section>
  );
}
