import { MASTER_COLUMNS, MASTER_SHEET } from "./master-columns.ts";
import { Style, XlsxStreamWriter } from "./xlsx-writer.ts";

/** The documented template of the master data: the sheet to fill, and what each column takes. */
export async function writeMasterTemplate(sink: (chunk: Uint8Array) => void): Promise<void> {
  const writer = new XlsxStreamWriter(sink, [
    {
      name: MASTER_SHEET,
      header: true,
      columns: MASTER_COLUMNS.map((c) => ({ width: c.width, style: c.date ? Style.date : Style.text })),
      lists: [{ column: MASTER_COLUMNS.findIndex((c) => c.key === "homogeneous"), values: ["SI", "NO"] }],
    },
    { name: "Istruzioni", columns: [{ width: 22 }, { width: 90 }] },
  ]);
  writer.startSheet(MASTER_SHEET);
  writer.row(MASTER_COLUMNS.map((c) => c.header), MASTER_COLUMNS.map(() => Style.header));
  writer.endSheet();
  writer.startSheet("Istruzioni");
  writer.row(["Anagrafiche di Placement"], [Style.bold]);
  writer.row([
    `Una riga per iscrizione nel foglio "${MASTER_SHEET}": i dati di progetto e d'aula si ripetono su ogni riga. Ricaricare lo stesso file non cambia nulla; un file aggiornato aggiorna titoli, date e aule senza toccare le dichiarazioni delle agenzie.`,
  ]);
  writer.row([]);
  writer.row(["Colonna", "Come compilarla"], [Style.bold, Style.bold]);
  for (const c of MASTER_COLUMNS) writer.row([c.header, c.help]);
  writer.endSheet();
  writer.finish();
}
