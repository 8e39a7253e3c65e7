/*
 * Dates, times and numbers as Italian users read them: one small module for pages, files,
 * mails and messages.
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

/** The local date and time (YYYY-MM-DD HH:mm) of an instant in a time zone: compared as text, it orders moments of a day. */
export function localDateTime(instant: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    formattersFor(timeZone)
      .dateTime.formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** dd/mm/yyyy from YYYY-MM-DD. */
export function formatDate(isoDate: string): string {
  const [y, m, d] = isoDate.split("-");
  return `${d}/${m}/${y}`;
}

/** dd/mm/yyyy hh:mm in Italian time, as the clerk reads it. */
export function formatDateTime(instant: Date, timeZone = "Europe/Rome"): string {
  const [date, time] = localDateTime(instant, timeZone).split(" ") as [string, string];
  return `${formatDate(date)} ${time}`;
}

const number = new Intl.NumberFormat("it-IT");
const percent = new Intl.NumberFormat("it-IT", { style: "percent", maximumFractionDigits: 1 });

/** 1.234.567 */
export const formatNumber = (n: number) => number.format(n);
export const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : 0);
/** 12,5% of the whole; 0% of nothing. */
export const formatPercent = (part: number, whole: number) => percent.format(ratio(part, whole));
