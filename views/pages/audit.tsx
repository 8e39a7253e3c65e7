import type { PageContext } from "../context.ts";
import { AUDIT_COLUMNS, type AuditFilters, type AuditRow } from "../../src/services/audit.ts";
import { Layout } from "../layout.tsx";
import { TableHead } from "../partials/table-head.tsx";

export function AuditPage(props: {
  ctx: PageContext;
  rows: AuditRow[];
  filters: AuditFilters;
  agencies: { id: number; code: string; name: string }[];
  actions: string[];
  query: string;
  limit: number;
}) {
  const f = props.filters;
  return (
    <Layout ctx={props.ctx}>
      <h1>Registro delle attività</h1>
      <p>
        <a href="/fondo/persona">Dati di una persona</a>: tutto ciò che Placement tratta su una persona, per rispondere a una
        richiesta di accesso.
      </p>
      <form method="get" action="/fondo/registro" class="filters">
        <label>
          Agenzia
          <select name="agenzia">
            <option value="">Tutte</option>
            {props.agencies.map((a) => (
              <option value={String(a.id)} selected={a.id === f.agencyId}>
                {a.code} · {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Utente (e-mail)
          <input type="text" name="utente" value={f.user ?? ""} />
        </label>
        <label>
          Azione
          <select name="azione">
            <option value="">Tutte</option>
            {props.actions.map((a) => (
              <option value={a} selected={a === f.action}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          Dal
          <input type="date" name="dal" value={f.from ?? ""} />
        </label>
        <label>
          Al
          <input type="date" name="al" value={f.to ?? ""} />
        </label>
        <button type="submit">Filtra</button>
      </form>
      <p class="subtitle">
        {props.rows.length === props.limit ? `Le ultime ${props.limit} voci.` : `${props.rows.length} voci.`}{" "}
        <a href={`/fondo/registro/file${props.query}`}>Scarica in CSV</a> (tutte le voci che corrispondono ai filtri)
      </p>
      <table id="audit">
        <TableHead headings={AUDIT_COLUMNS.map((c) => c.header)} />
        <tbody>
          {props.rows.map((row) => (
            <tr data-action={row.action}>
              {AUDIT_COLUMNS.map((c) => (
                <td>{c.value(row) ?? ""}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
