const number = new Intl.NumberFormat("it-IT");
const percent = new Intl.NumberFormat("it-IT", { style: "percent", maximumFractionDigits: 1 });

export const formatNumber = (n: number) => number.format(n);
export const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : 0);
export const formatPercent = (part: number, whole: number) => percent.format(ratio(part, whole));

/** A horizontal bar drawn on the server, with its value in words beside it. */
export function Bar(props: { part: number; whole: number; label: string }) {
  const width = Math.round(ratio(props.part, props.whole) * 1000) / 10;
  return (
    <span class="bar">
      <svg viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label={`${props.label}: ${formatPercent(props.part, props.whole)}`}>
        <rect class="bar-track" x="0" y="0" width="100" height="8" />
        <rect class="bar-fill" x="0" y="0" width={String(width)} height="8" />
      </svg>
      <span class="bar-text">{formatPercent(props.part, props.whole)}</span>
    </span>
  );
}

/** A column header that sorts the table by following a link: no JavaScript needed. */
export function SortHeader(props: {
  label: string;
  column: string;
  current: { column: string; descending: boolean };
  href: (column: string, descending: boolean) => string;
  numeric?: boolean;
}) {
  const active = props.current.column === props.column;
  const descending = active ? !props.current.descending : props.numeric === true;
  return (
    <th class={props.numeric ? "num" : undefined} aria-sort={active ? (props.current.descending ? "descending" : "ascending") : undefined}>
      <a href={props.href(props.column, descending)}>
        {props.label}
        {active ? (props.current.descending ? " ▼" : " ▲") : ""}
      </a>
    </th>
  );
}
