import { html } from "hono/html";

import { formatPercent, ratio } from "../../src/format.ts";

/**
 * A bar drawn by the browser from a native <meter>, with its value in words beside it.
 * An html template, not a JSX component: a large agency's dashboard draws hundreds of them
 * and the template renders several times faster (bench/dashboard.ts).
 */
export function bar(part: number, whole: number, label: string) {
  const text = formatPercent(part, whole);
  return html`<span class="bar"><meter min="0" max="1" value="${ratio(part, whole).toFixed(4)}" title="${label}">${text}</meter><span class="bar-text">${text}</span></span>`;
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
