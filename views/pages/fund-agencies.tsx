import type { PageContext } from "../context.ts";
import { formatDate, formatDateTime } from "../../src/format.ts";
import type { AgencyRow, AgencySort } from "../../src/services/dashboard.ts";
import { Layout } from "../layout.tsx";
import { formatNumber } from "../../src/format.ts";
import { bar, SortHeader } from "../partials/figures.tsx";
import { YearPicker } from "../partials/year-picker.tsx";
import { TableHead } from "../partials/table-head.tsx";
import { PostForm } from "../partials/forms.tsx";

export function FundAgenciesPage(props: {
  ctx: PageContext;
  years: number[];
  year: number;
  agencies: AgencyRow[];
  sort: AgencySort;
  /** The campaign's deadline has passed: its closing report can be prepared. */
  closed: boolean;
  error?: string;
}) {
  const rows = props.agencies;
  const total = props.agencies.reduce(
    (t, a) => ({
      enrollments: t.enrollments + a.enrollments,
      declared: t.declared + a.declared,
      placed: t.placed + a.placed,
      below: t.below + a.projectsBelow,
      failed: t.failed + a.failedJobs,
    }),
    { enrollments: 0, declared: 0, placed: 0, below: 0, failed: 0 },
  );
  const href = (column: string, descending: boolean) =>
    `/fondo?${new URLSearchParams({ anno: String(props.year), ordina: column, verso: descending ? "desc" : "asc" })}`;
  const header = (label: string, column: AgencySort["column"], numeric = true) => (
    <SortHeader label={label} column={column} numeric={numeric} current={props.sort} href={href} />
  );
  return (
    <Layout ctx={props.ctx}>
      <h1>Agenzie per il Lavoro</h1>
      <p class="subtitle">
        Avanzamento della campagna {props.year} per agenzia. "Fascia nota": iscrizioni con la fascia debole dichiarata,
        comprese quelle delle aule omogenee, la cui categoria è nota dall'aula. "Placement": allievi con Placement SI e una
        data di assunzione successiva alla fine del progetto. "Progetti sotto il minimo": progetti di una tipologia con un
        minimo di placement fissato dal Fondo che non lo raggiungono.
      </p>
      {props.years.length > 1 && <YearPicker action="/fondo" years={props.years} selected={props.year} />}
      {props.error && (
        <p class="notice error" role="alert">
          {props.error}
        </p>
      )}
      {props.closed && (
        <PostForm class="card" action="/fondo/relazione" csrfToken={props.ctx.csrfToken} submit={`Prepara la relazione di chiusura ${props.year}`}>
          <input type="hidden" name="anno" value={String(props.year)} />
          <p class="muted">
            Un file Excel con una riga per agenzia (iscrizioni, quota dichiarata nelle aule non omogenee, placement per tipologia
            rispetto al minimo, progetti sotto il minimo, ultimo caricamento, elaborazioni in errore, proroga) e un foglio per
            tipologia formativa con i suoi progetti. Lo segui e lo scarichi in Placement, tra le prenotazioni.
          </p>
        </PostForm>
      )}
      <table id="agencies">
        <TableHead
          headings={[
            header("Agenzia", "agenzia", false),
            header("Iscrizioni", "iscrizioni"),
            header("Fascia nota", "dichiarate"),
            header("Placement", "placement"),
            header("Progetti sotto il minimo", "sotto"),
            header("Ultimo caricamento", "caricamento"),
            header("Elaborazioni in errore", "errori"),
          ]}
        />
        <tbody>
          {rows.map((a) => (
            <tr data-agency={a.code}>
              <td>
                <a href={`/fondo/agenzie/${a.id}?anno=${props.year}`}>{a.name}</a> <span class="muted mono">{a.code}</span>
                {a.extendedTo && <span class="badge warn">proroga fino al {formatDate(a.extendedTo)}</span>}
              </td>
              <td class="num">{formatNumber(a.enrollments)}</td>
              <td>
                {bar(a.declared, a.enrollments, `Dichiarate ${a.code}`)}
              </td>
              <td>
                {bar(a.placed, a.enrollments, `Placement ${a.code}`)}
              </td>
              <td class={a.projectsBelow ? "num ko-count" : "num"}>{a.projectsBelow}</td>
              <td>{a.lastUpload ? formatDateTime(new Date(a.lastUpload)) : <span class="muted">nessuno</span>}</td>
              <td class={a.failedJobs ? "num ko-count" : "num"}>{a.failedJobs}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr data-agency="">
            <th>Totale</th>
            <th class="num">{formatNumber(total.enrollments)}</th>
            <th>
              {bar(total.declared, total.enrollments, "Dichiarate, totale")}
            </th>
            <th>
              {bar(total.placed, total.enrollments, "Placement, totale")}
            </th>
            <th class="num">{total.below}</th>
            <th></th>
            <th class="num">{total.failed}</th>
          </tr>
        </tfoot>
      </table>
    </Layout>
  );
}
