import { normalizeHeader, traineeColumn, type TraineeRow } from "./columns.ts";

/** The columns of the master-data template: one row per enrollment, the one definition for template, reading and outcome. */

export type MasterRowValues = {
  agencyCode: string;
  projectCode: string;
  projectTitle: string;
  trainingType: string;
  year: string;
  startDate: string;
  endDate: string;
  classCode: string;
  homogeneous: string;
  classCategory: string;
  codiceFiscale: string;
  surname: string;
  name: string;
  birthDate: string;
};

export type MasterColumn = { key: keyof MasterRowValues; header: string; width: number; date?: boolean; elevenDigits?: boolean; help: string };

export const MASTER_SHEET = "Anagrafica";

// A column both files have is written the same way in both.
const sameAs = (key: keyof TraineeRow) => {
  const { header, width, elevenDigits } = traineeColumn(key);
  return { header, width, elevenDigits };
};

export const MASTER_COLUMNS: readonly MasterColumn[] = [
  { key: "agencyCode", header: "Codice agenzia", width: 12, help: "Codice dell'agenzia, come in Amministrazione (es. APL001)." },
  { key: "projectCode", ...sameAs("projectCode"), help: "Codice del progetto, unico per agenzia." },
  { key: "projectTitle", ...sameAs("projectTitle"), help: "Titolo del progetto." },
  { key: "trainingType", ...sameAs("trainingType"), help: "Codice della tipologia formativa (es. BASE, PROF)." },
  { key: "year", header: "Anno", width: 8, help: "Anno di riferimento (compensazione), es. 2019." },
  { key: "startDate", header: "Data inizio", width: 12, date: true, help: "Inizio del progetto (gg/mm/aaaa)." },
  { key: "endDate", header: "Data fine", width: 12, date: true, help: "Fine del progetto (gg/mm/aaaa), non prima dell'inizio." },
  { key: "classCode", ...sameAs("classCode"), help: "Codice dell'aula, unico nel progetto." },
  { key: "homogeneous", ...sameAs("homogeneous"), help: "SI se tutti gli allievi appartengono a una categoria, NO altrimenti." },
  { key: "classCategory", header: "Categoria aula", width: 12, help: "Con aula omogenea SI: il codice della categoria fasce deboli; altrimenti vuoto." },
  { key: "codiceFiscale", ...sameAs("codiceFiscale"), help: "Codice fiscale dell'allievo (16 caratteri, o 11 cifre se provvisorio)." },
  { key: "surname", ...sameAs("surname"), help: "Cognome dell'allievo." },
  { key: "name", ...sameAs("name"), help: "Nome dell'allievo." },
  { key: "birthDate", header: "Data di nascita", width: 12, date: true, help: "Facoltativa (gg/mm/aaaa)." },
];

/** Where each column is in an uploaded header, and which ones are missing. */
export function matchMasterHeader(header: readonly string[]) {
  const byName = new Map(MASTER_COLUMNS.map((c) => [normalizeHeader(c.header), c.key]));
  const positions = new Map<keyof MasterRowValues, number>();
  header.forEach((text, index) => {
    const key = byName.get(normalizeHeader(text));
    if (key && !positions.has(key)) positions.set(key, index);
  });
  return { positions, missing: MASTER_COLUMNS.filter((c) => c.key !== "birthDate" && !positions.has(c.key)) };
}
