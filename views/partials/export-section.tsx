import type { Booking } from "../../src/services/exports.ts";
import { BookingForm, type BookingFormErrors, type BookingFormValues } from "./booking-form.tsx";
import { BookingsTable } from "./bookings.tsx";

export type ExportSectionProps = {
  csrfToken: string;
  canBook: boolean;
  trainingTypes: { code: string; description: string }[];
  years: number[];
  values: BookingFormValues;
  errors: BookingFormErrors;
  booked?: number;
  bookings: Booking[];
  showAgency: boolean;
};

/** The booking form and the list of bookings: the page shows it, htmx swaps it whole. */
export function ExportSection(props: ExportSectionProps) {
  return (
    <section id="export-section">
      {props.canBook && (
        <BookingForm
          csrfToken={props.csrfToken}
          trainingTypes={props.trainingTypes}
          years={props.years}
          values={props.values}
          errors={props.errors}
          booked={props.booked}
        />
      )}
      <h2>Prenotazioni</h2>
      <BookingsTable bookings={props.bookings} showAgency={props.showAgency} />
    </section>
  );
}
