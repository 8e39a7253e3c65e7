import { formatDateTime } from "../format.ts";
import type { JobSummaryRow } from "../services/job-summary.ts";
import type { TableColumn } from "./table-file.ts";

/** The columns of the riepilogo elaborazioni file, and of its table on the page. */
export const JOB_SUMMARY_COLUMNS: readonly TableColumn<JobSummaryRow>[] = [
  { header: "Tipo", width: 12, value: (r) => r.kind },
  { header: "N.", width: 7, value: (r) => r.id },
  { header: "Agenzia", width: 10, value: (r) => r.agencyCode },
  { header: "Data", width: 17, value: (r) => formatDateTime(r.at) },
  { header: "Utente", width: 24, value: (r) => r.by },
  { header: "Filtri o file", width: 40, value: (r) => r.subject },
  { header: "Stato", width: 22, value: (r) => r.status },
  { header: "Righe", width: 9, value: (r) => r.rows },
  { header: "OK", width: 9, value: (r) => r.ok },
  { header: "KO", width: 9, value: (r) => r.ko },
  { header: "Invariate", width: 10, value: (r) => r.unchanged },
  { header: "Errore", width: 50, value: (r) => r.error },
];
