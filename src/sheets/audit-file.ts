import type { AuditRow } from "../services/audit.ts";
import { formatDateTime } from "../format.ts";
import type { TableColumn } from "./table-file.ts";

/** The columns of the audit log, on the page and in its CSV. */
export const AUDIT_COLUMNS: readonly TableColumn<AuditRow>[] = [
  { header: "Data", width: 17, value: (r) => formatDateTime(r.at) },
  { header: "Azione", width: 18, value: (r) => r.action },
  { header: "Utente", width: 28, value: (r) => r.userEmail },
  { header: "Agenzia", width: 10, value: (r) => r.agencyCode },
  { header: "Oggetto", width: 40, value: (r) => r.target },
  { header: "Dettagli", width: 40, value: (r) => r.detail },
  { header: "Indirizzo", width: 16, value: (r) => r.address },
];
