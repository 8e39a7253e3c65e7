import type { ExportListing } from "../../src/services/exports.ts";
import { ExportForm, type ExportFormProps } from "./export-form.tsx";
import { ExportsTable } from "./exports.tsx";

export type ExportSectionProps = ExportFormProps & { canBook: boolean; exports: ExportListing[]; showAgency: boolean };

/** The booking form and the list of bookings: the page shows it, htmx swaps it whole. */
export function ExportSection(props: ExportSectionProps) {
  const { canBook, exports, showAgency, ...form } = props;
  return (
    <section id="export-section">
      {(canBook || form.fund) && <ExportForm {...form} />}
      <h2>Prenotazioni</h2>
      <ExportsTable jobs={exports} showAgency={showAgency} />
    </section>
  );
}
