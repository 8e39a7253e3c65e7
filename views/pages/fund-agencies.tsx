import type { PageContext } from "../../src/http.ts";
import type { agenciesOverview } from "../../src/services/projects.ts";
import { Layout } from "../layout.tsx";
import { YearPicker } from "../partials/year-picker.tsx";

export function FundAgenciesPage(props: {
  ctx: PageContext;
  years: number[];
  year: number;
  agencies: ReturnType<typeof agenciesOverview>;
}) {
  return (
    <Layout ctx={props.ctx}>
      <h1>Agenzie per il Lavoro</h1>
      <p class="subtitle">Anno di riferimento {props.year}.</p>
      {props.years.length > 1 && <YearPicker action="/fondo" years={props.years} selected={props.year} />}
      <table>
        <thead>
          <tr>
            <th>Codice</th>
            <th>Agenzia</th>
            <th class="num">Progetti</th>
            <th class="num">Allievi</th>
            <th class="num">Iscrizioni</th>
            <th class="num">Utenti</th>
          </tr>
        </thead>
        <tbody>
          {props.agencies.map((a) => (
            <tr>
              <td class="mono">{a.code}</td>
              <td>
                <a href={`/fondo/agenzie/${a.id}?anno=${props.year}`}>{a.name}</a>{" "}
                {a.disabled && <span class="badge ko">disabilitata</span>}
              </td>
              <td class="num">{a.projectCount}</td>
              <td class="num">{a.traineeCount}</td>
              <td class="num">{a.enrollmentCount}</td>
              <td class="num">{a.userCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
