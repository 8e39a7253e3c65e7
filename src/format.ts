/*
 * Dates and times as Italian users read them: one small module for pages, files and mails.
 */

// Building a formatter costs far more than using one: one per time zone, kept.
const formatters = new Map<string, { date: Intl.DateTimeFormat; dateTime: Intl.DateTimeFormat }>();
function formattersFor(timeZone: string) {
  let found = formatters.get(timeZone);
  if (!found) {
    found = {
      date: new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }),
      dateTime: new Intl.DateTimeFormat("en-GB", {
        timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      }),
    };
    formatters.set(timeZone, found);
  }
  return found;
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(instant: Date, timeZone: string): string {
  return formattersFor(timeZone).date.format(instant);
}

/** dd/mm/yyyy from YYYY-MM-DD. */
export function formatDate(isoDate: string): string {
  const [y, m, d] = isoDate.split("-");
  return `${d}/${m}/${y}`;
}

/** dd/mm/yyyy hh:mm in Italian time, as the clerk reads it. */
export function formatDateTime(instant: Date, timeZone = "Europe/Rome"): string {
  const parts = Object.fromEntries(
    formattersFor(timeZone)
      .dateTime.formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}`;
}
