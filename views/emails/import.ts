import type { OutgoingMail } from "../../src/mail/outbox.ts";

type ImportMailInput = { to: string[]; uploadId: number; year: number; uploadedAt: string; placementUrl: string };

const rowsText = (n: number) => (n === 1 ? "1 riga" : `${n} righe`);

const FOOTER = "\n\nQuesto messaggio è stato inviato automaticamente da Placement: non rispondere a questo indirizzo.";

/** Counts and the most frequent reasons; no personal data. */
export function importDoneMail(
  input: ImportMailInput & {
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

export function importFailedMail(input: ImportMailInput & { reason: string }): OutgoingMail {
  return {
    to: input.to,
    subject: `Placement: caricamento n. ${input.uploadId} non elaborato`,
    text:
      `Non è stato possibile elaborare il file caricato il ${input.uploadedAt} per l'anno ${input.year}; ` +
      `nessun dato è stato modificato.\n\nMotivo: ${input.reason}\n\n` +
      `Puoi correggere il file e caricarlo di nuovo dalla sezione Placement:\n${input.placementUrl}` +
      FOOTER,
  };
}
