import type { Heading } from "./table-head.tsx";

/** A job's row while it is queued or running asks for itself again every second; htmx swaps in the answer. */
export function polling(status: string, url: string) {
  return status === "queued" || status === "running" ? { "hx-get": url, "hx-trigger": "every 1s", "hx-swap": "outerHTML" } : {};
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
