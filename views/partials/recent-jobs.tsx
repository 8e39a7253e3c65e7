import type { ExportListing } from "../../src/services/exports.ts";
import type { UploadListing } from "../../src/services/uploads.ts";
import { ExportsTable } from "./exports.tsx";
import { UploadsTable } from "./uploads.tsx";

/** The latest bookings and uploads of the dashboard, as a fragment whose rows poll while active. */
export function RecentJobs(props: { exports: ExportListing[]; uploads: UploadListing[] }) {
  return (
    <div id="recent-jobs">
      <ExportsTable jobs={props.exports} showAgency={false} />
      <UploadsTable uploads={props.uploads} showAgency={false} />
      <p>
        <a href="/placement/riepilogo">Riepilogo di tutte le elaborazioni</a>
      </p>
    </div>
  );
}
