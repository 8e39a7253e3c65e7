// The texts of the notices sent about jobs (SPEC §9): a summary and a link, never personal data.
import type { OutgoingMail } from "./outbox.ts";
import { formatDate } from "../format.ts";

type ExportMailInput = {
  to: string[];
  exportId: number;
  year: number;
  trainingTypes: string[];
  requestedAt: string;
  placementUrl: string;
  /** An agency's file to fill in, or one of the fund's own files. */
  kind: "trainees" | "consolidated" | "report";
};

const FILE_NAMES = { trainees: "file fasce deboli", consolidated: "dati acquisiti", report: "relazione di chiusura" } as const;
const fileName = (input: ExportMailInput) => FILE_NAMES[input.kind];
const plural = (input: ExportMailInput) => input.kind === "consolidated";

const FOOTER = "\n\nQuesto messaggio è stato inviato automaticamente da Placement: non rispondere a questo indirizzo.";

/** No personal data: a summary and a link. */
export function exportReadyMail(input: ExportMailInput & { rows: number; retentionDays: number }): OutgoingMail {
  return {
    to: input.to,
    year: input.year,
    subject: `Placement: ${fileName(input)} ${input.year} ${plural(input) ? "disponibili" : "disponibile"} (prenotazione n. ${input.exportId})`,
    text:
      `Il file richiesto il ${input.requestedAt} per l'anno ${input.year} ` +
      `(tipologie formative: ${input.trainingTypes.join(", ")}) è pronto: ${input.rows === 1 ? "1 riga" : `${input.rows} righe`}.\n\n` +
      `Puoi scaricarlo dalla sezione Placement, "Import massivo fasce deboli":\n${input.placementUrl}\n\n` +
      `Il file resta disponibile per ${input.retentionDays} giorni.` +
      FOOTER,
  };
}

export function exportFailedMail(input: ExportMailInput & { reason: string }): OutgoingMail {
  return {
    to: input.to,
    year: input.year,
    subject: `Placement: ${fileName(input)} ${input.year} ${plural(input) ? "non generati" : "non generato"} (prenotazione n. ${input.exportId})`,
    text:
      `Non è stato possibile preparare il file richiesto il ${input.requestedAt} per l'anno ${input.year} ` +
      `(tipologie formative: ${input.trainingTypes.join(", ")}).\n\nMotivo: ${input.reason}\n\n` +
      `Puoi prenotare di nuovo il download dalla sezione Placement:\n${input.placementUrl}\n` +
      `Se il problema si ripete, comunica al Fondo il numero della prenotazione.` +
      FOOTER,
  };
}

type UploadMailInput = { to: string[]; uploadId: number; year: number; uploadedAt: string; placementUrl: string };

const rowsText = (n: number) => (n === 1 ? "1 riga" : `${n} righe`);

/** Counts and the most frequent reasons; no personal data. */
export function uploadDoneMail(
  input: UploadMailInput & {
    counts: { total: number; ok: number; ko: number; unchanged: number };
    reasons: { reason: string; rows: number }[];
  },
): OutgoingMail {
  const { counts } = input;
  const reasons = input.reasons.length
    ? `\n\nMotivi più frequenti degli scarti:\n${input.reasons.map((r) => `- ${r.reason} (${rowsText(r.rows)})`).join("\n")}`
    : "";
  return {
    to: input.to,
    year: input.year,
    subject: `Placement: caricamento n. ${input.uploadId} elaborato${counts.ko ? `, ${counts.ko === 1 ? "1 riga scartata" : `${counts.ko} righe scartate`}` : " senza scarti"}`,
    text:
      `Il file caricato il ${input.uploadedAt} per l'anno ${input.year} è stato elaborato.\n\n` +
      `Righe lette: ${counts.total}\nAcquisite (OK): ${counts.ok}\nInvariate: ${counts.unchanged}\nScartate (KO): ${counts.ko}` +
      reasons +
      `\n\nDalla sezione Placement puoi scaricare il file con l'esito di ogni riga (colonne Esito e Messaggio), ` +
      `correggere le righe KO e caricarlo di nuovo:\n${input.placementUrl}` +
      FOOTER,
  };
}

export function uploadFailedMail(input: UploadMailInput & { reason: string }): OutgoingMail {
  return {
    to: input.to,
    year: input.year,
    subject: `Placement: caricamento n. ${input.uploadId} non elaborato`,
    text:
      `Non è stato possibile elaborare il file caricato il ${input.uploadedAt} per l'anno ${input.year}; ` +
      `nessun dato è stato modificato.\n\nMotivo: ${input.reason}\n\n` +
      `Puoi correggere il file e caricarlo di nuovo dalla sezione Placement:\n${input.placementUrl}` +
      FOOTER,
  };
}

/** A deadline reminder to an agency: what is still missing, in counts, and where to complete it. */
export function reminderMail(input: {
  to: string[];
  year: number;
  deadline: string;
  extended: boolean;
  daysLeft: number;
  undeclared: number;
  placementIncomplete: number;
  placementUrl: string;
}): OutgoingMail {
  const left = input.daysLeft === 1 ? "oggi è l'ultimo giorno" : `mancano ${input.daysLeft} giorni`;
  const lines = [
    ...(input.undeclared ? [`- iscrizioni in aule non omogenee senza fascia debole: ${input.undeclared}`] : []),
    ...(input.placementIncomplete ? [`- allievi con Placement SI senza data di assunzione o tipo contratto: ${input.placementIncomplete}`] : []),
  ];
  return {
    to: input.to,
    year: input.year,
    subject: `Placement: campagna ${input.year}, ${left} alla scadenza del ${formatDate(input.deadline)}`,
    text:
      `La ${input.extended ? "proroga concessa alla tua agenzia" : "campagna"} ${input.extended ? `per la campagna ${input.year} scade` : `${input.year} scade`} il ${formatDate(input.deadline)} a fine giornata: ${left}.\n\n` +
      `Dati ancora da completare:\n${lines.join("\n")}\n\n` +
      `Puoi completarli dalla sezione Placement, caricando il file compilato o modificando le righe dalla pagina di ogni aula:\n${input.placementUrl}` +
      FOOTER,
  };
}

/** To the fund's operators, the morning after a campaign's deadline: the agencies still incomplete. */
export function incompleteListMail(input: {
  to: string[];
  year: number;
  deadline: string;
  agencies: {
    code: string;
    name: string;
    undeclared: number;
    placementIncomplete: number;
    extendedTo: string | null;
    reminded: number;
    unreachable: number;
  }[];
  fundUrl: string;
}): OutgoingMail {
  const n = input.agencies.length;
  const lines = input.agencies.map(
    (a) =>
      `- ${a.code} ${a.name}: ${a.undeclared} senza fascia debole, ${a.placementIncomplete} placement incompleti, ` +
      `${a.reminded === 1 ? "1 promemoria inviato" : `${a.reminded} promemoria inviati`}` +
      (a.unreachable ? `, ${a.unreachable} non inviati perché l'agenzia non ha un Responsabile o un Referente abilitato a riceverli` : "") +
      (a.extendedTo ? ` (proroga fino al ${formatDate(a.extendedTo)})` : ""),
  );
  return {
    to: input.to,
    year: input.year,
    subject: `Placement: campagna ${input.year} scaduta il ${formatDate(input.deadline)}, ${n === 1 ? "1 agenzia incompleta" : `${n} agenzie incomplete`}`,
    text:
      (n === 0
        ? `Alla scadenza della campagna ${input.year} (${formatDate(input.deadline)}) tutte le agenzie hanno completato i dati.`
        : `Alla scadenza della campagna ${input.year} (${formatDate(input.deadline)}) queste agenzie hanno ancora dati da completare:\n\n${lines.join("\n")}`) +
      `\n\nL'avanzamento per agenzia è nella sezione Agenzie:\n${input.fundUrl}` +
      FOOTER,
  };
}
