import { formatDateTime } from "../../src/format.ts";
import type { UploadListing } from "../../src/services/uploads.ts";
import { UPLOAD_STATUS_TEXT as TEXT } from "../../src/services/job-summary.ts";

const ACTIVE = new Set(["queued", "running"]);

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
      return (
        <span>
          <span class="badge ko">{TEXT.failed}</span> <span class="muted">{u.error}</span>
        </span>
      );
  }
}

/** One upload; while it is queued or running it asks for itself again every second. */
export function UploadRow(props: { upload: UploadListing; showAgency: boolean }) {
  const u = props.upload;
  const polling = ACTIVE.has(u.status)
    ? { "hx-get": `/placement/caricamenti/${u.id}`, "hx-trigger": "every 1s", "hx-swap": "outerHTML" }
    : {};
  const finished = u.status === "done" || u.status === "done_with_errors";
  return (
    <tr id={`upload-${u.id}`} data-status={u.status} {...polling}>
      <td class="num">{u.id}</td>
      {props.showAgency && <td class="mono">{u.agencyCode}</td>}
      <td>{formatDateTime(u.createdAt)}</td>
      <td>{u.uploadedBy}</td>
      <td>
        {u.fileName} <span class="muted">({u.year}{u.sheetName ? `, foglio «${u.sheetName}»` : ""})</span>
      </td>
      <td>
        <Status upload={u} />
      </td>
      <td class="num">{finished ? u.rowsTotal : ""}</td>
      <td class="num ok-count">{finished ? u.rowsOk : ""}</td>
      <td class="num">{finished ? u.rowsUnchanged : ""}</td>
      <td class="num ko-count">{finished ? u.rowsKo : ""}</td>
      <td>{finished && u.outcomePath && <a href={`/placement/caricamenti/${u.id}/esito`}>Esito</a>}</td>
    </tr>
  );
}

export function UploadsTable(props: { uploads: UploadListing[]; showAgency: boolean }) {
  if (props.uploads.length === 0) return <p class="notice info">Nessun caricamento finora.</p>;
  return (
    <table id="uploads">
      <thead>
        <tr>
          <th class="num">N.</th>
          {props.showAgency && <th>Agenzia</th>}
          <th>Caricato</th>
          <th>Da</th>
          <th>File</th>
          <th>Stato</th>
          <th class="num">Righe</th>
          <th class="num">OK</th>
          <th class="num">Invariate</th>
          <th class="num">KO</th>
          <th>Esito</th>
        </tr>
      </thead>
      <tbody>
        {props.uploads.map((u) => (
          <UploadRow upload={u} showAgency={props.showAgency} />
        ))}
      </tbody>
    </table>
  );
}
