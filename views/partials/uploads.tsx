import type { UploadListing } from "../../src/services/uploads.ts";
import { UPLOAD_STATUS_TEXT as TEXT } from "../../src/services/job-summary.ts";
import { FailedStatus, JobRow, LoadOutcome, loadHeadings } from "./job-row.tsx";
import { TableHead } from "./table-head.tsx";

function Status(props: { upload: UploadListing }) {
  const u = props.upload;
  switch (u.status) {
    case "queued":
      return <span class="badge">{TEXT.queued}</span>;
    case "running":
      return (
        <span>
          <span class="badge warn">{TEXT.running}</span> {u.progressDone > 0 && `${u.progressDone} righe lette`}
        </span>
      );
    case "done":
      return <span class="badge ok">{TEXT.done}</span>;
    case "done_with_errors":
      return <span class="badge warn">{TEXT.done_with_errors}</span>;
    case "failed":
      return <FailedStatus text={TEXT.failed} error={u.error} />;
  }
}

/** One upload; while it is queued or running it asks for itself again every second. */
export function UploadRow(props: { upload: UploadListing; showAgency: boolean }) {
  const u = props.upload;
  const finished = u.status === "done" || u.status === "done_with_errors";
  return (
    <JobRow id={`upload-${u.id}`} url={`/placement/caricamenti/${u.id}`} job={u} agency={props.showAgency ? u.agencyCode : null} at={u.createdAt} by={u.uploadedBy}>
      <td>
        {u.fileName} <span class="muted">({u.year}{u.sheetName ? `, foglio «${u.sheetName}»` : ""})</span>
      </td>
      <td>
        <Status upload={u} />
      </td>
      <LoadOutcome outcome={finished ? u : null} href={`/placement/caricamenti/${u.id}/esito`} />
    </JobRow>
  );
}

export function UploadsTable(props: { uploads: UploadListing[]; showAgency: boolean }) {
  if (props.uploads.length === 0) return <p class="notice info">Nessun caricamento finora.</p>;
  return (
    <table id="uploads">
      <TableHead headings={loadHeadings(props.showAgency)} />
      <tbody>
        {props.uploads.map((u) => (
          <UploadRow upload={u} showAgency={props.showAgency} />
        ))}
      </tbody>
    </table>
  );
}
