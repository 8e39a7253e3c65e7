import type { JSX } from "hono/jsx/jsx-runtime";

/**
 * One column heading: its text; `{ num }` for a column of numbers, right-aligned like its
 * cells; a ready-made `<th>` (a sort link); false or null for a column left out.
 */
export type Heading = string | { num: string } | JSX.Element | false | null;

/** The head of a table: one row of headings. */
export function TableHead(props: { headings: Heading[] }) {
  return (
    <thead>
      <tr>
        {props.headings.map((h) => {
          if (h === false || h === null) return null;
          if (typeof h === "string") return <th>{h}</th>;
          return "num" in h ? <th class="num">{h.num}</th> : h;
        })}
      </tr>
    </thead>
  );
}
