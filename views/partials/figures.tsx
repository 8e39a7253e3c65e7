import { raw } from "hono/html";

import { formatPercent, ratio } from "../../src/format.ts";

/**
 * A bar drawn by the browser from a native <meter>, with its value in words beside it.
 * Plain text with its one free value escaped by Bun's native `escapeHTML`, not a JSX
 * component nor an html template: a large agency's dashboard draws hundreds of them, and
 * the templates were most of the page's rendering time (bench/dashboard.ts).
 */
export function bar(part: number, whole: number, label: string) {
  return raw(barText(part, whole, label));
}

/** The bar's HTML, for rows written as text (views/pages/dashboard.tsx). */
export function barText(part: number, whole: number, label: string): string {
  const text = formatPercent(part, whole);
  return `<span class="bar"><meter min="0" max="1" value="${ratio(part, whole).toFixed(4)}" title="${Bun.escapeHTML(label)}">${text}</meter><span class="bar-text">${text}</span></span>`;
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
