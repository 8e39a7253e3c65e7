import { formatDate } from "../../src/format.ts";
import type { listProjects } from "../../src/services/projects.ts";
import { TableHead } from "./table-head.tsx";

export function ProjectsTable(props: { projects: ReturnType<typeof listProjects> }) {
  if (props.projects.length === 0) {
    return <p class="notice info">Nessun progetto per questo anno.</p>;
  }
  return (
    <table>
      <TableHead headings={["Codice", "Titolo", "Tipologia formativa", "Periodo", { num: "Aule" }, { num: "Allievi" }]} />
      <tbody>
        {props.projects.map((p) => (
          <tr>
            <td class="mono">
              <a href={`/progetti/${p.id}`}>{p.code}</a>
            </td>
            <td>{p.title}</td>
            <td>{p.trainingTypeDescription}</td>
            <td>
              {formatDate(p.startDate)} – {formatDate(p.endDate)}
            </td>
            <td class="num">{p.classCount}</td>
            <td class="num">{p.enrollmentCount}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
