import type { ExportListing } from "../../src/services/exports.ts";
import { ExportForm, type ExportFormErrors, type ExportFormValues } from "./export-form.tsx";
import { ExportsTable } from "./exports.tsx";

export type ExportSectionProps = {
  csrfToken: string;
  canBook: boolean;
  trainingTypes: { code: string; description: string }[];
  years: number[];
  values: ExportFormValues;
  errors: ExportFormErrors;
  booked?: number;
  exports: ExportListing[];
  showAgency: boolean;
};

/** The booking form and the list of bookings: the page shows it, htmx swaps it whole. */
export function ExportSection(props: ExportSectionProps) {
  return (
    <section id="export-section">
      {props.canBook && (
        <ExportForm
          csrfToken={props.csrfToken}
          trainingTypes={props.trainingTypes}
          years={props.years}
          values={props.values}
          errors={props.errors}
          booked={props.booked}
        />
      )}
      <h2>Prenotazioni</h2>
      <ExportsTable jobs={props.exports} showAgency={props.showAgency} />
    </section>
  );
}
