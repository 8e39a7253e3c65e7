import type { Child, PropsWithChildren } from "hono/jsx";
import type { PageContext } from "../context.ts";
import type { Role } from "../../src/db/schema.ts";
import { type Campaign, type ExtensionListing } from "../../src/services/campaigns.ts";
import { formatDate, formatDateTime, formatNumber } from "../../src/format.ts";
import { UPLOAD_STATUS_TEXT } from "../../src/services/job-summary.ts";
import type { MasterJob } from "../../src/services/master-data.ts";
import type { User } from "../../src/services/auth.ts";
import type { listAgencyAccounts } from "../../src/services/admin.ts";
import { Layout } from "../layout.tsx";
import { CsrfField, PostButton, PostForm } from "../partials/forms.tsx";
import { JobRow, LoadOutcome, loadHeadings } from "../partials/job-row.tsx";
import { TableHead } from "../partials/table-head.tsx";
import { NewUserForm, UsersTable } from "../partials/users.tsx";
import { TokenTable } from "../partials/api-tokens.tsx";
import type { TokenListing } from "../../src/services/api-tokens.ts";

type Agency = ReturnType<typeof listAgencyAccounts>[number];
export type FormState = { field?: string; error?: string; notice?: string; values?: Record<string, string> };

function Notice(props: { state: FormState }) {
  if (props.state.error) {
    return (
      <p class="notice error" role="alert">
        {props.state.error}
      </p>
    );
  }
  return props.state.notice ? (
    <p class="notice info" role="status">
      {props.state.notice}
    </p>
  ) : null;
}

function AdminTabs() {
  return (
    <nav class="tabs" aria-label="Amministrazione">
      <a href="/amministrazione/agenzie">Agenzie e utenti</a>
      <a href="/amministrazione/fondo">Operatori del Fondo</a>
      <a href="/amministrazione/campagne">Campagne</a>
      <a href="/amministrazione/liste/tipologie">Liste di codici</a>
      <a href="/amministrazione/anagrafiche">Anagrafiche</a>
      <a href="/amministrazione/token">Token API</a>
    </nav>
  );
}

/** A required field; a refused form comes back with it filled in as it was sent. */
function Field(props: { label: string; type: string; name: string; min?: string; max?: string; values: Record<string, string> }) {
  return (
    <label>
      {props.label}
      <input type={props.type} name={props.name} required min={props.min} max={props.max} value={props.values[props.name] ?? ""} />
    </label>
  );
}

/** Every administration page: its title, the tabs, an optional introduction, the outcome of the last action. */
function AdminLayout(props: PropsWithChildren<{ ctx: PageContext; title: string; state: FormState; intro?: Child }>) {
  return (
    <Layout ctx={props.ctx}>
      <h1>{props.title}</h1>
      <AdminTabs />
      {props.intro}
      <Notice state={props.state} />
      {props.children}
    </Layout>
  );
}

export function AgenciesAdminPage(props: { ctx: PageContext; agencies: Agency[]; state: FormState }) {
  const v = props.state.values ?? {};
  return (
    <AdminLayout ctx={props.ctx} title="Amministrazione" state={props.state}>
      <table id="agency-accounts">
        <TableHead headings={["Codice", "Agenzia", "Stato"]} />
        <tbody>
          {props.agencies.map((a) => (
            <tr>
              <td class="mono">{a.code}</td>
              <td>
                <a href={`/amministrazione/agenzie/${a.id}`}>{a.name}</a>
              </td>
              <td>{a.disabled ? <span class="badge ko">disabilitata</span> : <span class="badge ok">attiva</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <PostForm class="card stacked" action="/amministrazione/agenzie" csrfToken={props.ctx.csrfToken} submit="Crea agenzia">
        <h2>Nuova agenzia</h2>
        <Field label="Codice" type="text" name="codice" values={v} />
        <Field label="Ragione sociale" type="text" name="nome" values={v} />
      </PostForm>
    </AdminLayout>
  );
}

const AGENCY_ROLES: Role[] = ["rpa", "referent", "operator"];

export function AgencyAdminPage(props: { ctx: PageContext; agency: Agency; users: User[]; state: FormState }) {
  const a = props.agency;
  return (
    <AdminLayout ctx={props.ctx} title={a.name} state={props.state}>
      <PostForm class="card stacked" action={`/amministrazione/agenzie/${a.id}`} csrfToken={props.ctx.csrfToken} submit="Salva">
        <h2>
          Agenzia <span class="mono">{a.code}</span>
        </h2>
        <label>
          Ragione sociale
          <input type="text" name="nome" required value={a.name} />
        </label>
        <label class="check">
          <input type="checkbox" name="disabilitata" value="1" checked={a.disabled} /> Disabilitata
        </label>
        <label class="check">
          <input type="checkbox" name="due_passaggi" value="1" checked={a.twoFactorRequired} /> Verifica in due passaggi obbligatoria per i suoi
          utenti (chi non l'ha attivata dovrà farlo alla prossima pagina che apre)
        </label>
      </PostForm>
      <h2>Utenti</h2>
      <UsersTable ctx={props.ctx} users={props.users} roles={AGENCY_ROLES} base="/amministrazione/utenti" resetsSecondFactor />
      <NewUserForm ctx={props.ctx} action={`/amministrazione/agenzie/${a.id}/utenti`} roles={AGENCY_ROLES} values={props.state.values ?? {}} />
    </AdminLayout>
  );
}

export function FundUsersPage(props: { ctx: PageContext; users: User[]; state: FormState }) {
  return (
    <AdminLayout ctx={props.ctx} title="Operatori del Fondo" state={props.state}>
      <UsersTable ctx={props.ctx} users={props.users} roles={["fund_operator"]} base="/amministrazione/utenti" resetsSecondFactor />
      <NewUserForm ctx={props.ctx} action="/amministrazione/fondo/utenti" roles={["fund_operator"]} values={props.state.values ?? {}} />
    </AdminLayout>
  );
}

function MinimumsForm(props: {
  ctx: PageContext;
  campaigns: Campaign[];
  minimums: NonNullable<CampaignsAdminProps["minimums"]>;
  values: Record<string, string>;
}) {
  const { year, trainingTypes, percent } = props.minimums;
  return (
    <>
      <h2 id="minimi">Minimi di placement {year}</h2>
      <p class="subtitle">
        Per ogni tipologia formativa, la quota minima di allievi di ciascun progetto che deve risultare assunta (Placement SI e
        data di assunzione successiva alla fine del progetto). Vuoto: nessun minimo. I cruscotti segnano i progetti sotto il
        minimo. Altri anni:{" "}
        {props.campaigns.map((c) => (
          <span>
            <a href={`/amministrazione/campagne?anno=${c.year}#minimi`} aria-current={c.year === year ? "page" : undefined}>
              {c.year}
            </a>{" "}
          </span>
        ))}
      </p>
      <PostForm class="card stacked" action={`/amministrazione/campagne/${year}/minimi`} csrfToken={props.ctx.csrfToken} submit="Salva i minimi">
        {trainingTypes.map((t) => (
          <label>
            <span class="mono">{t.code}</span> {t.description} (%)
            <input
              type="number"
              name={`minimo_${t.code}`}
              min="1"
              max="100"
              step="1"
              value={props.values[`minimo_${t.code}`] ?? (percent.has(t.code) ? String(percent.get(t.code)) : "")}
            />
          </label>
        ))}
      </PostForm>
    </>
  );
}

export type CampaignsAdminProps = {
  ctx: PageContext;
  campaigns: Campaign[];
  extensions: ExtensionListing[];
  agencies: { id: number; code: string; name: string }[];
  /** The year whose minimums the page edits, its training types and their minimums. */
  minimums: { year: number; trainingTypes: { code: string; description: string }[]; percent: Map<string, number> } | null;
  /** Each campaign's last day of personal data, by year; the years kept when a campaign does not say. */
  retention: { keptUntil: Record<number, string>; defaultYears: number };
  state: FormState;
};

export function CampaignsAdminPage(props: CampaignsAdminProps) {
  const v = props.state.values ?? {};
  return (
    <AdminLayout ctx={props.ctx} title="Campagne" state={props.state}>
      <table id="campaigns">
        <TableHead headings={["Anno", "Apertura", "Scadenza (fine giornata, ora italiana)", "Promemoria", "Dati personali", ""]} />
        <tbody>
          {props.campaigns.map((c) => (
            <tr data-year={String(c.year)}>
              <td>{c.year}</td>
              <td>{formatDate(c.opensOn)}</td>
              <td>{formatDate(c.deadline)}</td>
              <td>{c.remindersOn && c.reminderDays.length ? `${c.reminderDays.join(", ")} giorni prima` : <span class="muted">spenti</span>}</td>
              <td>
                {c.anonymisedAt ? (
                  <span class="badge ok">anonimizzati il {formatDateTime(c.anonymisedAt)}</span>
                ) : (
                  <>
                    conservati fino al {formatDate(props.retention.keptUntil[c.year]!)} ({c.retentionYears ?? props.retention.defaultYears} anni){" "}
                    <a href={`/amministrazione/campagne/${c.year}/anonimizza`}>Anonimizza…</a>
                  </>
                )}
              </td>
              <td>
                <a href={`/amministrazione/campagne?modifica=${c.year}`}>Modifica</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <PostForm class="card stacked" action="/amministrazione/campagne" csrfToken={props.ctx.csrfToken} submit="Salva campagna">
        <h2>Nuova campagna o modifica di una esistente</h2>
        <Field label="Anno di riferimento" type="number" name="anno" min="2000" max="2100" values={v} />
        <Field label="Apertura" type="date" name="apertura" values={v} />
        <Field label="Scadenza" type="date" name="scadenza" values={v} />
        <label>
          Promemoria alle agenzie incomplete, giorni prima della scadenza di ciascuna (alle 8, ora italiana)
          <input type="text" name="promemoria" value={v.promemoria ?? "14, 7, 2"} inputmode="numeric" />
        </label>
        <label class="check">
          <input type="checkbox" name="promemoria_attivi" value="1" checked={v.promemoria_attivi === undefined || v.promemoria_attivi === "1"} /> Promemoria attivi
        </label>
        <p class="muted">Il mattino dopo la scadenza gli operatori del Fondo ricevono l'elenco delle agenzie ancora incomplete.</p>
        <label>
          Conservazione dei dati personali, in anni dopo l'ultima scadenza (vuoto: {props.retention.defaultYears}, l'impostazione del
          programma); poi la campagna è anonimizzata
          <input type="number" name="conservazione" min="1" max="100" value={v.conservazione ?? ""} />
        </label>
      </PostForm>

      {props.minimums && <MinimumsForm ctx={props.ctx} campaigns={props.campaigns} minimums={props.minimums} values={v} />}

      <h2 id="proroghe">Proroghe</h2>
      <p class="subtitle">
        Una proroga sposta la scadenza di una sola agenzia: caricamenti, prenotazioni, modifiche e promemoria di quell'agenzia
        seguono la sua data. Si può concedere anche dopo la scadenza della campagna, e riapre la raccolta per quell'agenzia.
      </p>
      {props.extensions.length === 0 ? (
        <p class="muted">Nessuna proroga concessa.</p>
      ) : (
        <table id="extensions">
          <TableHead headings={["Anno", "Agenzia", "Proroga fino al", "Motivo", "Concessa", ""]} />
          <tbody>
            {props.extensions.map((e) => (
              <tr data-extension={`${e.year}-${e.agencyCode}`}>
                <td>{e.year}</td>
                <td>
                  <span class="mono">{e.agencyCode}</span> {e.agencyName}
                </td>
                <td>{formatDate(e.deadline)}</td>
                <td>{e.reason}</td>
                <td>
                  {formatDateTime(e.grantedAt)}
                  {e.grantedBy ? ` da ${e.grantedBy}` : ""}
                </td>
                <td>
                  <PostButton action={`/amministrazione/campagne/proroghe/${e.id}/rimuovi`} csrfToken={props.ctx.csrfToken}>
                    Rimuovi
                  </PostButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PostForm class="card stacked" action="/amministrazione/campagne/proroghe" csrfToken={props.ctx.csrfToken} submit="Concedi la proroga">
        <h2>Concedi o sposta una proroga</h2>
        <label>
          Campagna
          <select name="anno" required>
            {props.campaigns.map((c) => (
              <option value={String(c.year)} selected={v.anno === String(c.year)}>
                {c.year} (scadenza {formatDate(c.deadline)})
              </option>
            ))}
          </select>
        </label>
        <label>
          Agenzia
          <select name="agenzia" required>
            <option value="">Scegli l'agenzia</option>
            {props.agencies.map((a) => (
              <option value={String(a.id)} selected={v.agenzia === String(a.id)}>
                {a.code} · {a.name}
              </option>
            ))}
          </select>
        </label>
        <Field label="Proroga fino al (fine giornata)" type="date" name="scadenza" values={v} />
        <label>
          Motivo
          <input type="text" name="motivo" required maxlength={500} value={v.motivo ?? ""} />
        </label>
      </PostForm>
    </AdminLayout>
  );
}

const LIST_TITLES = { tipologie: "Tipologie formative", categorie: "Categorie fasce deboli", contratti: "Tipi di contratto" } as const;

export function ReferenceListPage(props: {
  ctx: PageContext;
  list: keyof typeof LIST_TITLES;
  entries: { code: string; description: string; active: boolean; sortOrder: number }[];
  state: FormState;
}) {
  const v = props.state.values ?? {};
  const base = `/amministrazione/liste/${props.list}`;
  return (
    <AdminLayout
      ctx={props.ctx}
      title={LIST_TITLES[props.list]}
      state={props.state}
      intro={
        <p class="subtitle">
          {Object.entries(LIST_TITLES).map(([name, title]) => (
            <span>
              <a href={`/amministrazione/liste/${name}`} aria-current={name === props.list ? "page" : undefined}>
                {title}
              </a>{" "}
            </span>
          ))}
        </p>
      }
    >
      <table id="reference-list">
        <TableHead headings={["Codice", "Descrizione, ordine, attivo", ""]} />
        <tbody>
          {props.entries.map((e) => (
            <tr data-code={e.code}>
              <td class="mono">{e.code}</td>
              <td>
                <form method="post" action={`${base}/${e.code}`} class="inline">
                  <CsrfField token={props.ctx.csrfToken} />
                  <input type="text" name="descrizione" value={e.description} aria-label="Descrizione" required />
                  <input type="number" name="ordine" value={String(e.sortOrder)} aria-label="Ordine" min="0" max="999" />
                  <label class="check">
                    <input type="checkbox" name="attivo" value="1" checked={e.active} /> Attivo
                  </label>
                  <button type="submit">Salva</button>
                </form>
              </td>
              <td>
                <PostButton action={`${base}/${e.code}/elimina`} csrfToken={props.ctx.csrfToken}>
                  Elimina
                </PostButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <PostForm class="card stacked" action={base} csrfToken={props.ctx.csrfToken} submit="Aggiungi">
        <h2>Nuovo codice</h2>
        <Field label="Codice" type="text" name="codice" values={v} />
        <Field label="Descrizione" type="text" name="descrizione" values={v} />
      </PostForm>
    </AdminLayout>
  );
}

/** One load; while it is queued or running it asks for itself again every second. */
export function MasterJobRow(props: { job: MasterJob }) {
  const j = props.job;
  return (
    <JobRow id={`master-${j.id}`} url={`/amministrazione/anagrafiche/${j.id}`} job={j} agency={null} at={new Date(j.createdAt)} by={j.uploadedBy}>
      <td>{j.fileName}</td>
      <td>
        {UPLOAD_STATUS_TEXT[j.status]} {j.error && <span class="muted">{j.error}</span>}
      </td>
      <LoadOutcome outcome={j} href={`/amministrazione/anagrafiche/${j.id}/esito`} />
    </JobRow>
  );
}

export function MasterDataPage(props: { ctx: PageContext; jobs: MasterJob[]; state: FormState; maxMb: number }) {
  return (
    <AdminLayout
      ctx={props.ctx}
      title="Anagrafiche"
      state={props.state}
      intro={
        <p class="subtitle">
          Progetti, aule, allievi e iscrizioni si caricano dal <a href="/amministrazione/anagrafiche/modello">modello Excel</a>{" "}
          (foglio "Anagrafica", una riga per iscrizione; il foglio "Istruzioni" spiega ogni colonna).
        </p>
      }
    >
      <PostForm class="card stacked" action="/amministrazione/anagrafiche" multipart csrfToken={props.ctx.csrfToken} submit="Carica">
        <label>
          File compilato (.xlsx, .xls, .ods o .csv, fino a {props.maxMb} MB)
          <input type="file" name="file" required accept=".xlsx,.xls,.ods,.csv" />
        </label>
      </PostForm>
      <table id="master-jobs">
        <TableHead headings={loadHeadings(false)} />
        <tbody>
          {props.jobs.map((job) => (
            <MasterJobRow job={job} />
          ))}
        </tbody>
      </table>
    </AdminLayout>
  );
}

/** The confirmation before a campaign is anonymised: what goes, what stays. */
export function AnonymiseCampaignPage(props: {
  ctx: PageContext;
  year: number;
  counts: { enrollments: number; people: number };
  keptUntil: string;
  refusal: string | null;
  state: FormState;
}) {
  return (
    <AdminLayout ctx={props.ctx} title={`Anonimizza la campagna ${props.year}`} state={props.state}>
      <p>
        Le {formatNumber(props.counts.enrollments)} iscrizioni della campagna {props.year} ({formatNumber(props.counts.people)} persone) saranno
        staccate dalle persone: nomi, codici fiscali e datori di lavoro non saranno più legati a nessuna dichiarazione della campagna; chi
        non ha altre iscrizioni sarà cancellato. Saranno cancellati anche lo storico delle modifiche, gli esiti riga per riga dei
        caricamenti, i file, le voci del registro e i messaggi di posta della campagna. Restano i conteggi: il cruscotto, il
        riepilogo e la relazione di chiusura continuano a funzionare. L'operazione non si può annullare.
      </p>
      <p class="muted">Senza questa azione, la campagna sarà anonimizzata dopo il {formatDate(props.keptUntil)}.</p>
      {props.refusal ? (
        <p class="notice warn" role="alert">
          {props.refusal}
        </p>
      ) : (
        <PostForm class="card stacked" action={`/amministrazione/campagne/${props.year}/anonimizza`} csrfToken={props.ctx.csrfToken} submit="Anonimizza ora">
          <label>
            Per confermare, scrivi l'anno della campagna
            <input type="text" name="conferma" required inputmode="numeric" autocomplete="off" />
          </label>
        </PostForm>
      )}
    </AdminLayout>
  );
}

/** Every agency user's API token, newest first, each revocable by the fund. */
export function ApiTokensAdminPage(props: { ctx: PageContext; tokens: TokenListing[]; now: Date; state: FormState }) {
  const intro = (
    <p>
      I token API delle utenze delle agenzie, dai più recenti. Un token revocato smette subito di valere e non si riattiva; chi lo usava ne
      crea uno nuovo dal proprio Profilo.
    </p>
  );
  return (
    <AdminLayout ctx={props.ctx} title="Token API" state={props.state} intro={intro}>
      <TokenTable tokens={props.tokens} now={props.now} csrfToken={props.ctx.csrfToken} revokeBase="/amministrazione/token" owners />
    </AdminLayout>
  );
}
