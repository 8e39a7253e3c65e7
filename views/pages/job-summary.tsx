import type { PageContext } from "../context.ts";
import { JOB_SUMMARY_COLUMNS, type JobSummaryRow } from "../../src/services/job-summary.ts";
import { Layout } from "../layout.tsx";
import { PlacementTabs } from "../partials/placement-tabs.tsx";
import { TableHead } from "../partials/table-head.tsx";

export function JobSummaryPage(props: { ctx: PageContext; rows: JobSummaryRow[]; showAgency: boolean }) {
  const columns = JOB_SUMMARY_COLUMNS.filter((c) => props.showAgency || c.header !== "Agenzia");
  return (
    <Layout ctx={props.ctx}>
      <h1>Placement</h1>
      <PlacementTabs current="riepilogo" />
      <p class="subtitle">
        Ogni prenotazione di download e ogni caricamento, con il loro stato.{" "}
        <a href="/placement/riepilogo/file?formato=xlsx">Scarica in Excel</a> ·{" "}
        <a href="/placement/riepilogo/file?formato=csv">Scarica in CSV</a>
      </p>
      {props.rows.length === 0 ? (
        <p class="notice info">Nessuna elaborazione finora.</p>
      ) : (
        <table id="job-summary">
          <TableHead headings={[...columns.map((c) => (typeof c.value(props.rows[0]!) === "number" ? { num: c.header } : c.header)), "File"]} />
          <tbody>
            {props.rows.map((row) => (
              <tr data-kind={row.kind} data-id={row.id} class={row.failed ? "failed" : undefined}>
                {columns.map((c) => {
                  const value = c.value(row);
                  return <td class={typeof value === "number" ? "num" : undefined}>{value ?? ""}</td>;
                })}
                <td>{row.fileUrl && <a href={row.fileUrl}>{row.kind === "Download" ? "File" : "Esito"}</a>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
