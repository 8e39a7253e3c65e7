import type { PropsWithChildren } from "hono/jsx";
import { formatDateTime } from "../../src/format.ts";
import type { Heading } from "./table-head.tsx";

/**
 * A job's row: its number, its agency (null where the list has one agency), when and by whom,
 * then the cells of its kind. While the job is queued or running the row asks `url` for
 * itself again every second, and htmx swaps in the answer.
 */
export function JobRow(
  props: PropsWithChildren<{ id: string; url: string; job: { id: number; status: string }; agency: string | null; at: Date; by: string }>,
) {
  const { job } = props;
  const active = job.status === "queued" || job.status === "running";
  const polling = active ? { "hx-get": props.url, "hx-trigger": "every 1s", "hx-swap": "outerHTML" } : {};
  return (
    <tr id={props.id} data-status={job.status} {...polling}>
      <td class="num">{job.id}</td>
      {props.agency !== null && <td class="mono">{props.agency}</td>}
      <td>{formatDateTime(props.at)}</td>
      <td>{props.by}</td>
      {props.children}
    </tr>
  );
}

/** The columns of a list of loaded files, uploads and master data alike; the agency where the list spans agencies. */
export function loadHeadings(showAgency: boolean): Heading[] {
  return [
    { num: "N." },
    showAgency && "Agenzia",
    "Caricato",
    "Da",
    "File",
    "Stato",
    { num: "Righe" },
    { num: "OK" },
    { num: "Invariate" },
    { num: "KO" },
    "Esito",
  ];
}

/** A failed job's badge, and why it failed. */
export function FailedStatus(props: { text: string; error: string | null }) {
  return (
    <span>
      <span class="badge ko">{props.text}</span> <span class="muted">{props.error}</span>
    </span>
  );
}

type Outcome = { rowsTotal: number | null; rowsOk: number | null; rowsUnchanged: number | null; rowsKo: number | null; outcomePath: string | null };

/** The last cells of a loaded file's row: how its rows went and the link to the outcome file; empty while it has none. */
export function LoadOutcome(props: { outcome: Outcome | null; href: string }) {
  const o = props.outcome;
  return (
    <>
      <td class="num">{o?.rowsTotal}</td>
      <td class="num ok-count">{o?.rowsOk}</td>
      <td class="num">{o?.rowsUnchanged}</td>
      <td class="num ko-count">{o?.rowsKo}</td>
      <td>{o?.outcomePath && <a href={props.href}>Esito</a>}</td>
    </>
  );
}
