import { tableSheet, writeTableBook, type TableColumn } from "./table-file.ts";

/*
 * The closing report of a campaign: a sheet with a row per agency, then a sheet per
 * training type with a row per project against the type's minimum placement rate.
 */

export type ReportAgency = {
  code: string;
  name: string;
  enrollments: number;
  mixed: number;
  declaredMixed: number;
  byType: Map<string, { enrollments: number; placed: number; projects: number; below: number }>;
  projectsBelow: number;
  lastUpload: Date | null;
  failedJobs: number;
  extendedTo: string | null;
};

export type ReportProject = {
  agencyCode: string;
  agencyName: string;
  code: string;
  title: string;
  trainingType: string;
  enrollments: number;
  placed: number;
  minimum: number | null;
  below: boolean;
};

export type ReportBook = {
  year: number;
  types: { code: string; description: string; minimum: number | null }[];
  agencies: ReportAgency[];
  projects: ReportProject[];
};

/** A share as a percent with one decimal, as a number a spreadsheet can sum and sort; empty when there is nothing to share. */
const percent = (part: number, whole: number) => (whole > 0 ? Math.round((1000 * part) / whole) / 10 : null);

export const reportFileName = (job: { year: number; id: number }) => `relazione-chiusura_${job.year}_${job.id}.xlsx`;

/** Writes the report as one .xlsx; returns the number of agencies. */
export function writeReportFile(book: ReportBook, formatInstant: (at: Date) => string, sink: (chunk: Uint8Array) => void): Promise<number> {
  const agencyColumns: TableColumn<ReportAgency>[] = [
    { header: "Codice agenzia", width: 12, value: (a) => a.code },
    { header: "Agenzia", width: 30, value: (a) => a.name },
    { header: "Iscrizioni", width: 10, value: (a) => a.enrollments },
    { header: "Iscrizioni in aule non omogenee", width: 14, value: (a) => a.mixed },
    { header: "Dichiarate nelle aule non omogenee (%)", width: 14, value: (a) => percent(a.declaredMixed, a.mixed) },
    ...book.types.flatMap((t): TableColumn<ReportAgency>[] => [
      { header: `Placement ${t.code} (%)`, width: 12, value: (a) => percent(a.byType.get(t.code)!.placed, a.byType.get(t.code)!.enrollments) },
      ...(t.minimum === null
        ? []
        : [{ header: `Progetti ${t.code} sotto il minimo del ${t.minimum}%`, width: 14, value: (a: ReportAgency) => a.byType.get(t.code)!.below }]),
    ]),
    { header: "Progetti sotto il minimo", width: 12, value: (a) => a.projectsBelow },
    { header: "Ultimo caricamento", width: 18, value: (a) => (a.lastUpload ? formatInstant(a.lastUpload) : null) },
    { header: "Elaborazioni in errore", width: 12, value: (a) => a.failedJobs },
    { header: "Proroga fino al", width: 14, value: (a) => (a.extendedTo ? { date: a.extendedTo } : null) },
  ];
  const projectColumns: TableColumn<ReportProject>[] = [
    { header: "Codice agenzia", width: 12, value: (p) => p.agencyCode },
    { header: "Agenzia", width: 30, value: (p) => p.agencyName },
    { header: "Codice progetto", width: 20, value: (p) => p.code },
    { header: "Titolo progetto", width: 40, value: (p) => p.title },
    { header: "Iscrizioni", width: 10, value: (p) => p.enrollments },
    { header: "Assunti", width: 10, value: (p) => p.placed },
    { header: "Placement (%)", width: 12, value: (p) => percent(p.placed, p.enrollments) },
    { header: "Minimo (%)", width: 10, value: (p) => p.minimum },
    { header: "Sotto il minimo", width: 10, value: (p) => (p.minimum === null ? null : p.below ? "SI" : "NO") },
  ];
  const sheets = [
    tableSheet(`Relazione ${book.year}`, agencyColumns, book.agencies),
    ...book.types.map((t) => tableSheet(t.code, projectColumns, book.projects.filter((p) => p.trainingType === t.code))),
  ];
  return writeTableBook("xlsx", sheets, sink);
}
