import type { UploadListing } from "../../src/services/uploads.ts";
import { PostForm } from "./forms.tsx";
import { UploadsTable } from "./uploads.tsx";
import { YearField } from "./year-picker.tsx";

export type UploadSectionProps = {
  csrfToken: string;
  canUpload: boolean;
  years: number[];
  year: number | null;
  maxMb: number;
  error?: string;
  queued?: { id: number; fileName: string; sheetName: string | null };
  uploads: UploadListing[];
  showAgency: boolean;
};

/** The upload form and the list of uploads: the page shows it, htmx swaps it whole. */
export function UploadSection(props: UploadSectionProps) {
  return (
    <section id="import-section">
      {props.canUpload && (
        <PostForm
          class="card upload"
          action="/placement/caricamenti"
          multipart
          section="#import-section"
          csrfToken={props.csrfToken}
          submit="Carica"
          busy="Controllo del file…"
        >
          <h2>Carica il file compilato</h2>
          <p class="muted">
            Excel (.xlsx, .xls), LibreOffice (.ods) o CSV, fino a {props.maxMb} MB. Il file viene controllato subito e poi
            elaborato: l'esito compare qui sotto e viene inviato per e-mail al Responsabile Politiche Attive e ai Referenti
            abilitati al Placement.
          </p>
          {props.queued && (
            <p class="notice info" role="status">
              Caricamento n. {props.queued.id} ({props.queued.fileName}) in coda: lo vedi qui sotto mentre viene elaborato.
              {props.queued.sheetName &&
                ` Il file non ha il foglio «Allievi»: viene letto il foglio «${props.queued.sheetName}», che ne ha le colonne.`}
            </p>
          )}
          {props.error && (
            <p class="notice error" role="alert">
              {props.error}
            </p>
          )}
          <div class="row">
            <label>
              File
              <input type="file" name="file" required accept=".xlsx,.xls,.ods,.csv" />
            </label>
            <YearField years={props.years} selected={props.year} />
          </div>
        </PostForm>
      )}
      <h2>Caricamenti</h2>
      <UploadsTable uploads={props.uploads} showAgency={props.showAgency} />
    </section>
  );
}
