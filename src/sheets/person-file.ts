import { formatDateTime } from "../format.ts";
import { neutralizeFormula } from "./cells.ts";
import { tableSheet, writeTableBook, type TableColumn, type TableSheet } from "./table-file.ts";

/** What is held on one person: the rows of each sheet of the file. */
export type PersonData = {
  person: { id: number; codiceFiscale: string; surname: string; name: string; birthDate: string | null };
  enrollments: {
    id: number;
    year: number;
    agencyCode: string;
    agencyName: string;
    projectCode: string;
    projectTitle: string;
    trainingType: string;
    startDate: string;
    endDate: string;
    classCode: string;
    homogeneous: number;
    fasciaDebole: string | null;
    placed: number | null;
    hireDate: string | null;
    contractType: string | null;
    employerVat: string | null;
    employerName: string | null;
    updatedAt: number | null;
  }[];
  changes: {
    enrollmentId: number;
    at: number;
    field: string;
    oldValue: string | null;
    newValue: string | null;
    source: string;
    uploadId: number | null;
    masterDataJobId: number | null;
    userEmail: string | null;
  }[];
  uploads: {
    id: number;
    at: number;
    agencyCode: string;
    year: number;
    fileName: string;
    userEmail: string | null;
    rowNumber: number;
    enrollmentId: number | null;
    outcome: string;
    message: string | null;
  }[];
  exports: { id: number; kind: string; at: number; year: number; format: string; agencyCode: string; bookedBy: string | null; rowCount: number | null }[];
  downloads: { exportId: number; at: number; userEmail: string | null; address: string | null }[];
};

const when = (ms: number | null) => (ms === null ? null : formatDateTime(new Date(ms)));
const day = (iso: string | null) => (iso ? { date: iso } : null);
const yesNo = (flag: number | null) => (flag === null ? null : flag ? "SI" : "NO");

const FIELD_NAMES: Record<string, string> = {
  fasciaDebole: "Fascia debole",
  placed: "Placement",
  hireDate: "Data assunzione",
  contractType: "Tipo contratto",
  employerVat: "Partita IVA datore",
  employerName: "Ragione sociale datore",
};
const SOURCES: Record<string, string> = { upload: "caricamento", edit: "modifica dalla pagina", master: "caricamento delle anagrafiche" };

const ENROLLMENT_COLUMNS: TableColumn<PersonData["enrollments"][number]>[] = [
  { header: "Iscrizione", width: 10, value: (e) => e.id },
  { header: "Anno", width: 7, value: (e) => e.year },
  { header: "Agenzia", width: 10, value: (e) => e.agencyCode },
  { header: "Ragione sociale agenzia", width: 28, value: (e) => e.agencyName },
  { header: "Codice progetto", width: 16, value: (e) => e.projectCode },
  { header: "Titolo progetto", width: 30, value: (e) => e.projectTitle },
  { header: "Tipologia formativa", width: 10, value: (e) => e.trainingType },
  { header: "Inizio progetto", width: 12, value: (e) => day(e.startDate) },
  { header: "Fine progetto", width: 12, value: (e) => day(e.endDate) },
  { header: "Codice aula", width: 12, value: (e) => e.classCode },
  { header: "Aula omogenea", width: 9, value: (e) => yesNo(e.homogeneous) },
  { header: "Fascia debole", width: 12, value: (e) => e.fasciaDebole },
  { header: "Placement", width: 10, value: (e) => yesNo(e.placed) },
  { header: "Data assunzione", width: 12, value: (e) => day(e.hireDate) },
  { header: "Tipo contratto", width: 10, value: (e) => e.contractType },
  { header: "Partita IVA datore", width: 14, value: (e) => e.employerVat },
  { header: "Ragione sociale datore", width: 28, value: (e) => e.employerName },
  { header: "Ultima modifica", width: 17, value: (e) => when(e.updatedAt) },
];

const CHANGE_COLUMNS: TableColumn<PersonData["changes"][number]>[] = [
  { header: "Iscrizione", width: 10, value: (c) => c.enrollmentId },
  { header: "Quando", width: 17, value: (c) => when(c.at) },
  { header: "Campo", width: 22, value: (c) => FIELD_NAMES[c.field] ?? c.field },
  { header: "Prima", width: 20, value: (c) => c.oldValue },
  { header: "Dopo", width: 20, value: (c) => c.newValue },
  { header: "Tramite", width: 28, value: (c) => `${SOURCES[c.source] ?? c.source}${c.uploadId ? ` n. ${c.uploadId}` : c.masterDataJobId ? ` n. ${c.masterDataJobId}` : ""}` },
  { header: "Utente", width: 28, value: (c) => c.userEmail },
];

const UPLOAD_COLUMNS: TableColumn<PersonData["uploads"][number]>[] = [
  { header: "Caricamento", width: 12, value: (u) => u.id },
  { header: "Quando", width: 17, value: (u) => when(u.at) },
  { header: "Agenzia", width: 10, value: (u) => u.agencyCode },
  { header: "Anno", width: 7, value: (u) => u.year },
  { header: "File", width: 30, value: (u) => u.fileName },
  { header: "Utente", width: 28, value: (u) => u.userEmail },
  { header: "Riga", width: 7, value: (u) => u.rowNumber },
  { header: "Iscrizione", width: 10, value: (u) => u.enrollmentId },
  { header: "Esito", width: 10, value: (u) => u.outcome },
  { header: "Messaggio", width: 40, value: (u) => u.message },
];

const KIND_NAMES: Record<string, string> = { trainees: "download dell'agenzia", consolidated: "dati acquisiti del Fondo" };

const EXPORT_COLUMNS: TableColumn<PersonData["exports"][number]>[] = [
  { header: "Prenotazione", width: 12, value: (x) => x.id },
  { header: "Tipo", width: 24, value: (x) => KIND_NAMES[x.kind] ?? x.kind },
  { header: "Prenotata il", width: 17, value: (x) => when(x.at) },
  { header: "Da", width: 28, value: (x) => x.bookedBy },
  { header: "Agenzia", width: 10, value: (x) => x.agencyCode },
  { header: "Anno", width: 7, value: (x) => x.year },
  { header: "Formato", width: 8, value: (x) => x.format },
  { header: "Righe", width: 9, value: (x) => x.rowCount },
];

const DOWNLOAD_COLUMNS: TableColumn<PersonData["downloads"][number]>[] = [
  { header: "Prenotazione", width: 12, value: (d) => d.exportId },
  { header: "Scaricato il", width: 17, value: (d) => when(d.at) },
  { header: "Da", width: 28, value: (d) => d.userEmail },
  { header: "Indirizzo", width: 16, value: (d) => d.address },
];

/** The person's file: one sheet per kind of fact, and a legend that says what each holds. */
export function writePersonFile(data: PersonData, generatedAt: Date, sink: (chunk: Uint8Array) => void): Promise<number> {
  const p = data.person;
  const personSheet: TableSheet = {
    name: "Persona",
    widths: [24, 40],
    rows: [
      ["Codice fiscale", neutralizeFormula(p.codiceFiscale)],
      ["Cognome", neutralizeFormula(p.surname)],
      ["Nome", neutralizeFormula(p.name)],
      ["Data di nascita", p.birthDate ? { date: p.birthDate } : null],
      ["Iscrizioni", data.enrollments.length],
      ["Estratto il", formatDateTime(generatedAt)],
    ],
  };
  const legend: TableSheet = {
    name: "Legenda",
    widths: [100],
    rows: [
      ["Dati trattati da Placement su questa persona."],
      ["Iscrizioni: ogni iscrizione a un'aula, con la fascia debole e i dati di placement dichiarati dall'agenzia."],
      ["Storico: ogni modifica delle dichiarazioni, con il valore prima e dopo, chi e tramite cosa."],
      ["Caricamenti: ogni riga di un file caricato da un'agenzia che riguardava le sue iscrizioni, con l'esito."],
      ["Download: i file prenotati della sua agenzia e del suo anno, per la tipologia formativa del suo progetto, che ne contenevano le righe; Scaricato da: chi li ha scaricati e quando."],
    ],
  };
  return writeTableBook(
    "xlsx",
    [
      personSheet,
      tableSheet("Iscrizioni", ENROLLMENT_COLUMNS, data.enrollments),
      tableSheet("Storico", CHANGE_COLUMNS, data.changes),
      tableSheet("Caricamenti", UPLOAD_COLUMNS, data.uploads),
      tableSheet("Download", EXPORT_COLUMNS, data.exports),
      tableSheet("Scaricato da", DOWNLOAD_COLUMNS, data.downloads),
      legend,
    ],
    sink,
  );
}
