import { flagText, TRAINEE_COLUMNS, type TraineeRow } from "./columns.ts";
import { tableSheet, writeTableBook, type TableColumn, type TableSheet } from "./table-file.ts";
import type { CellValue } from "./xlsx-writer.ts";

/*
 * "Dati acquisiti": the fund's file of what the agencies declared, every agency's rows
 * of a year in one sheet. Read-only: it has no "Versione" and is not meant to be uploaded.
 */

/** One enrollment as the fund's file shows it. */
export type ConsolidatedRow = Omit<TraineeRow, "version"> & {
  agencyCode: string;
  agencyName: string;
  /** Placement SI with a hire date after the project's end: the rule every count follows. */
  countsAsPlaced: boolean;
  /** The minimum placement percent of the project's training type, if any; whether the project misses it. */
  minimum: number | null;
  projectBelow: boolean | null;
  changedAt: Date | null;
  changedBy: string | null;
  /** Through what the row last changed, in words ("caricamento n. 12"); null when never. */
  changedThrough: string | null;
};

type CodeList = { code: string; description: string }[];
export type ConsolidatedContext = {
  year: number;
  generatedAt: string;
  agencies: string;
  trainingTypes: CodeList;
  categories: CodeList;
  contractTypes: CodeList;
  formatInstant: (at: Date) => string;
};

export const CONSOLIDATED_SHEET = "Dati acquisiti";

const trainee = (key: Exclude<keyof TraineeRow, "version">): TableColumn<ConsolidatedRow> => {
  const column = TRAINEE_COLUMNS.find((c) => c.key === key)!;
  return {
    header: column.header,
    width: column.width,
    value: (row) => {
      const value = row[key];
      if (value === null) return null;
      if (column.kind === "flag") return flagText(value as boolean);
      if (column.kind === "date") return { date: value as string };
      return String(value);
    },
  };
};

function columns(ctx: ConsolidatedContext): TableColumn<ConsolidatedRow>[] {
  return [
    { header: "Codice agenzia", width: 12, value: (r) => r.agencyCode },
    { header: "Agenzia", width: 30, value: (r) => r.agencyName },
    ...(["projectCode", "projectTitle", "trainingType", "classCode", "homogeneous", "codiceFiscale", "surname", "name"] as const).map(trainee),
    { ...trainee("fasciaDebole"), header: "Fascia debole (effettiva)" },
    ...(["placed", "hireDate", "contractType", "employerVat", "employerName"] as const).map(trainee),
    { header: "Conta come placement", width: 12, value: (r) => flagText(r.countsAsPlaced) },
    { header: "Minimo di placement della tipologia (%)", width: 14, value: (r) => r.minimum },
    { header: "Progetto sotto il minimo", width: 12, value: (r) => (r.projectBelow === null ? null : flagText(r.projectBelow)) },
    { header: "Ultima modifica", width: 18, value: (r) => (r.changedAt ? ctx.formatInstant(r.changedAt) : null) },
    { header: "Modificata da", width: 24, value: (r) => r.changedBy },
    { header: "Tramite", width: 30, value: (r) => r.changedThrough },
  ];
}

function legend(ctx: ConsolidatedContext): TableSheet {
  const lines: CellValue[][] = [
    [`Dati acquisiti ${ctx.year}`],
    [`Agenzie: ${ctx.agencies}. Generato il ${ctx.generatedAt}.`],
    ["Una riga per iscrizione, con quanto dichiarato dalle agenzie. Il file è di sola consultazione: non va ricaricato."],
    [],
    ["Colonna", "Significato"],
    ["Fascia debole (effettiva)", "La categoria dichiarata; nelle aule omogenee, la categoria dell'aula. NO: non appartiene a fasce deboli. Vuota: non ancora dichiarata."],
    ["Conta come placement", "SI quando Placement è SI e la data di assunzione è successiva alla fine del progetto: la regola di tutti i conteggi di placement."],
    ["Minimo di placement della tipologia (%)", "Quota minima di allievi assunti per progetto fissata dal Fondo per la tipologia formativa e l'anno; vuota se non c'è."],
    ["Progetto sotto il minimo", "SI quando il progetto non raggiunge il minimo della sua tipologia (raggiungerlo esattamente basta)."],
    ["Ultima modifica, Modificata da, Tramite", "Quando e da chi la riga è stata cambiata l'ultima volta, e come: un caricamento con il suo numero, una modifica dalla pagina o un caricamento delle anagrafiche."],
    [],
    ["Tipologia formativa", "Descrizione"],
    ...ctx.trainingTypes.map((c) => [c.code, c.description]),
    [],
    ["Fascia debole", "Descrizione"],
    ["NO", "L'allievo non appartiene ad alcuna categoria fasce deboli"],
    ...ctx.categories.map((c) => [c.code, c.description]),
    [],
    ["Tipo contratto", "Descrizione"],
    ...ctx.contractTypes.map((c) => [c.code, c.description]),
  ];
  const headings = new Set(["Colonna", "Tipologia formativa", "Fascia debole", "Tipo contratto"]);
  return { name: "Legenda", widths: [36, 110], rows: lines, bold: (cells) => cells.length > 0 && (headings.has(String(cells[0])) || cells === lines[0]) };
}

/** Writes the file: the rows' sheet and the legend, or the rows alone as a CSV. Returns the row count. */
export function writeConsolidatedFile(
  format: "xlsx" | "csv",
  rows: Iterable<ConsolidatedRow>,
  ctx: ConsolidatedContext,
  sink: (chunk: Uint8Array) => void,
  onProgress: (rows: number) => void,
): Promise<number> {
  return writeTableBook(format, [tableSheet(CONSOLIDATED_SHEET, columns(ctx), rows), legend(ctx)], sink, onProgress);
}

export const consolidatedFileName = (job: { year: number; id: number }, format: "xlsx" | "csv") => `dati-acquisiti_${job.year}_${job.id}.${format}`;
