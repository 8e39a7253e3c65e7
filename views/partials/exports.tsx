import { exportSubject, ownerCode, type ExportListing } from "../../src/services/exports.ts";
import { EXPORT_STATUS_TEXT as TEXT } from "../../src/services/job-summary.ts";
import { FailedStatus, JobRow } from "./job-row.tsx";
import { TableHead } from "./table-head.tsx";

function Status(props: { job: ExportListing }) {
  const b = props.job;
  switch (b.status) {
    case "queued":
      return (
        <span class="badge">
          {TEXT.queued}
          {b.attempts > 0 && b.error ? ` (nuovo tentativo: ${b.error})` : ""}
        </span>
      );
    case "running": {
      const percent = b.progressTotal > 0 ? Math.floor((100 * b.progressDone) / b.progressTotal) : 0;
      return (
        <span>
          <span class="badge warn">{TEXT.running}</span>{" "}
          <progress max="100" value={String(percent)} aria-label="Avanzamento">
            {percent}%
          </progress>{" "}
          {percent}%
        </span>
      );
    }
    case "ready":
      return <span class="badge ok">{TEXT.ready}</span>;
    case "failed":
      return <FailedStatus text={TEXT.failed} error={b.error} />;
    case "expired":
      return <span class="badge">{TEXT.expired}</span>;
  }
}

/** One booking; while it is queued or running it asks for itself again every second. */
export function ExportRow(props: { job: ExportListing; showAgency: boolean }) {
  const b = props.job;
  return (
    <JobRow id={`booking-${b.id}`} url={`/placement/prenotazioni/${b.id}`} job={b} agency={props.showAgency ? ownerCode(b) : null} at={b.createdAt} by={b.bookedBy}>
      <td>
        {exportSubject(b)}
        {b.extraEmail && <div class="muted">+ {b.extraEmail}</div>}
      </td>
      <td>
        <Status job={b} />
      </td>
      <td class="num">{b.rowCount ?? ""}</td>
      <td>
        {b.status === "ready" && (
          <a href={`/placement/prenotazioni/${b.id}/file`} download>
            Scarica
          </a>
        )}
      </td>
    </JobRow>
  );
}

export function ExportsTable(props: { jobs: ExportListing[]; showAgency: boolean }) {
  if (props.jobs.length === 0) return <p class="notice info">Nessuna prenotazione finora.</p>;
  return (
    <table id="bookings">
      <TableHead headings={[{ num: "N." }, props.showAgency && "Agenzia", "Richiesta", "Da", "Filtri", "Stato", { num: "Righe" }, "File"]} />
      <tbody>
        {props.jobs.map((b) => (
          <ExportRow job={b} showAgency={props.showAgency} />
        ))}
      </tbody>
    </table>
  );
}
