/**
 * The columns of the "Allievi" sheet: the one definition that drives the export, the
 * import's header matching, the legend and the tests.
 */

/** One enrollment as it appears in the file. */
export type TraineeRow = {
  projectCode: string;
  projectTitle: string;
  trainingType: string;
  classCode: string;
  homogeneous: boolean;
  codiceFiscale: string;
  surname: string;
  name: string;
  fasciaDebole: string | null;
  placed: boolean | null;
  hireDate: string | null;
  contractType: string | null;
  employerVat: string | null;
  employerName: string | null;
  version: string;
};

export type ColumnKind = "text" | "flag" | "date";

export type Column = {
  key: keyof TraineeRow;
  header: string;
  kind: ColumnKind;
  /** Width in characters, for the spreadsheet. */
  width: number;
  /** Whether the agency fills it in; the others identify the row. */
  editable: boolean;
  /** Whether an upload must have it: the identifying columns and every editable one. */
  required: boolean;
  /** Codes of 11 digits, whose leading zeros a spreadsheet drops when it takes them for numbers. */
  elevenDigits?: boolean;
  /** The name of its field in the class page's edit form, for the columns the agency fills in. */
  field?: string;
  /** How to read or fill the column, for the legend. */
  help: string;
};

export const TRAINEE_COLUMNS: readonly Column[] = [
  { key: "projectCode", header: "Codice progetto", kind: "text", width: 20, editable: false, required: true, help: "Identifica il progetto. Non modificare." },
  { key: "projectTitle", header: "Titolo progetto", kind: "text", width: 40, editable: false, required: false, help: "Solo per consultazione." },
  { key: "trainingType", header: "Tipologia formativa", kind: "text", width: 12, editable: false, required: false, help: "Codice della tipologia formativa (vedi sotto). Solo per consultazione." },
  { key: "classCode", header: "Codice aula", kind: "text", width: 12, editable: false, required: true, help: "Identifica l'aula del progetto. Non modificare." },
  { key: "homogeneous", header: "Aula omogenea", kind: "flag", width: 10, editable: false, required: false, help: "SI: tutti gli allievi dell'aula appartengono alla categoria dell'aula; la fascia debole non si modifica. NO: aula non omogenea, indicare la fascia debole di ogni allievo." },
  { key: "codiceFiscale", header: "Codice fiscale", kind: "text", width: 19, editable: false, required: true, elevenDigits: true, help: "Identifica l'allievo. Non modificare." },
  { key: "surname", header: "Cognome", kind: "text", width: 18, editable: false, required: false, help: "Solo per consultazione." },
  { key: "name", header: "Nome", kind: "text", width: 16, editable: false, required: false, help: "Solo per consultazione." },
  { key: "fasciaDebole", header: "Fascia debole", kind: "text", width: 13, editable: true, required: true, field: "fascia", help: "Codice della categoria fasce deboli (vedi sotto), oppure NO se l'allievo non vi rientra. Vuoto: nessuna modifica." },
  { key: "placed", header: "Placement", kind: "flag", width: 10, editable: true, required: true, field: "placement", help: "SI se l'allievo è stato assunto dopo il corso; NO se non lo è stato (NO cancella i dati dell'assunzione). Vuoto: nessuna modifica." },
  { key: "hireDate", header: "Data assunzione", kind: "date", width: 14, editable: true, required: true, field: "data", help: "Data di assunzione (gg/mm/aaaa), successiva alla fine del progetto e non successiva al giorno del caricamento. Obbligatoria con Placement SI." },
  { key: "contractType", header: "Tipo contratto", kind: "text", width: 13, editable: true, required: true, field: "contratto", help: "Codice del tipo di contratto (vedi sotto). Obbligatorio con Placement SI." },
  { key: "employerVat", header: "P.IVA datore di lavoro", kind: "text", width: 16, editable: true, required: true, elevenDigits: true, field: "piva", help: "Partita IVA del datore di lavoro: 11 cifre. Scrivi - per cancellarla." },
  { key: "employerName", header: "Datore di lavoro", kind: "text", width: 32, editable: true, required: true, field: "datore", help: "Ragione sociale del datore di lavoro. Scrivi - per cancellarla." },
  { key: "version", header: "Versione", kind: "text", width: 12, editable: false, required: false, help: "Identifica la riga com'era al momento del download, perché un file vecchio non annulli modifiche più recenti. Non modificare; nelle righe aggiunte a mano lasciala vuota." },
];

/** The column of a key. */
export const traineeColumn = (key: keyof TraineeRow): Column => TRAINEE_COLUMNS.find((c) => c.key === key)!;

/** A header as people retype it: accents, case and spacing do not matter. */
export function normalizeHeader(header: string): string {
  return header
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

/** Where each known column is in an uploaded header, and which required ones are missing. */
export function matchHeader(header: readonly string[]): { positions: Map<keyof TraineeRow, number>; missing: Column[] } {
  const byName = new Map(TRAINEE_COLUMNS.map((c) => [normalizeHeader(c.header), c.key]));
  const positions = new Map<keyof TraineeRow, number>();
  header.forEach((text, index) => {
    const key = byName.get(normalizeHeader(text));
    if (key && !positions.has(key)) positions.set(key, index);
  });
  return { positions, missing: TRAINEE_COLUMNS.filter((c) => c.required && !positions.has(c.key)) };
}

/** Version of the file layout, written in the metadata sheet and checked on upload. */
export const FILE_FORMAT_VERSION = "1";

export const SHEET_NAMES = { trainees: "Allievi", legend: "Legenda", metadata: "Metadati" } as const;

/** SI/NO as the clerk reads them; empty when nothing is recorded. */
export const flagText = (value: boolean | null) => (value === null ? "" : value ? "SI" : "NO");

/** The text of a cell as written to CSV and read back; dates as dd/mm/yyyy. */
export function cellText(column: Column, row: TraineeRow): string {
  const value = row[column.key];
  if (value === null) return "";
  if (column.kind === "flag") return flagText(value as boolean);
  if (column.kind === "date") {
    const [y, m, d] = (value as string).split("-");
    return `${d}/${m}/${y}`;
  }
  return String(value);
}
