import { formatDate } from "../../src/format.ts";
import type { PageContext } from "../context.ts";
import type { projectRoster } from "../../src/services/enrollments.ts";
import type { getProject } from "../../src/services/projects.ts";
import { Layout } from "../layout.tsx";
import { TableHead } from "../partials/table-head.tsx";

const PLACED_LABEL = (placed: boolean | null) => (placed === null ? "—" : placed ? "SI" : "NO");

export function ProjectPage(props: {
  ctx: PageContext;
  project: NonNullable<ReturnType<typeof getProject>>;
  roster: ReturnType<typeof projectRoster>;
}) {
  const { project } = props;
  return (
    <Layout ctx={props.ctx}>
      <p class="muted">
        <a href="/">← Progetti</a>
      </p>
      <h1>{project.title}</h1>
      <div class="card">
        <dl class="facts">
          <dt>Codice</dt>
          <dd class="mono">{project.code}</dd>
          <dt>Agenzia</dt>
          <dd>{project.agencyName}</dd>
          <dt>Tipologia formativa</dt>
          <dd>{project.trainingTypeDescription}</dd>
          <dt>Anno di compensazione</dt>
          <dd>{project.year}</dd>
          <dt>Periodo</dt>
          <dd>
            {formatDate(project.startDate)} – {formatDate(project.endDate)}
          </dd>
        </dl>
      </div>
      {props.roster.map((cls) => (
        <section>
          <h2>
            <a href={`/progetti/${project.id}/aule/${cls.id}`}>{cls.code}</a>{" "}
            {cls.homogeneous ? (
              <span class="badge">Aula omogenea · {cls.category}</span>
            ) : (
              <span class="badge">Aula non omogenea</span>
            )}{" "}
            <span class="muted">{cls.trainees.length === 1 ? "1 allievo" : `${cls.trainees.length} allievi`}</span>
          </h2>
          <table>
            <TableHead headings={["Codice fiscale", "Cognome", "Nome", "Fascia debole", "Placement"]} />
            <tbody>
              {cls.trainees.map((t) => (
                <tr>
                  <td class="mono">{t.codiceFiscale}</td>
                  <td>{t.surname}</td>
                  <td>{t.name}</td>
                  <td>{t.fasciaDebole ?? <span class="muted">da dichiarare</span>}</td>
                  <td>{PLACED_LABEL(t.placed)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </Layout>
  );
}
