import type { PageContext } from "../context.ts";
import type { ClassRoster } from "../../src/services/enrollments.ts";
import { Layout } from "../layout.tsx";
import { TableHead } from "../partials/table-head.tsx";
import { TraineeRow, type RowContext } from "../partials/trainee-row.tsx";

export function ClassPage(props: { ctx: PageContext; roster: ClassRoster; row: RowContext; closedReason: string | null }) {
  const r = props.roster;
  return (
    <Layout ctx={props.ctx}>
      <p class="muted">
        <a href={`/progetti/${r.projectId}`}>← {r.projectCode}</a>
      </p>
      <h1>
        {r.code} <span class="muted">· {r.projectTitle}</span>
      </h1>
      <p class="subtitle">
        {r.homogeneous
          ? `Aula omogenea: tutti gli allievi appartengono alla categoria ${r.category}, che non si modifica.`
          : "Aula non omogenea: indica la fascia debole di ogni allievo."}{" "}
        {props.row.editable && "Usa Modifica su una riga per aggiornarla; Esc annulla."}
      </p>
      {props.closedReason && <p class="notice info">{props.closedReason}</p>}
      <table id="trainees">
        <TableHead headings={["Codice fiscale", "Allievo", "Fascia debole", "Placement", "Data assunzione", "Contratto", "P.IVA datore", "Datore di lavoro", ""]} />
        <tbody>
          {r.lines.map((line) => (
            <TraineeRow line={line} row={props.row} />
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
