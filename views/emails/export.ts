import type { OutgoingMail } from "../../src/mail/outbox.ts";

type ExportMailInput = {
  to: string[];
  bookingId: number;
  year: number;
  trainingTypes: string[];
  requestedAt: string;
  placementUrl: string;
};

const FOOTER = "\n\nQuesto messaggio è stato inviato automaticamente da Placement: non rispondere a questo indirizzo.";

/** No personal data: a summary and a link. */
export function exportReadyMail(input: ExportMailInput & { rows: number; retentionDays: number }): OutgoingMail {
  return {
    to: input.to,
    subject: `Placement: file fasce deboli ${input.year} disponibile (prenotazione n. ${input.bookingId})`,
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
    subject: `Placement: file fasce deboli ${input.year} non generato (prenotazione n. ${input.bookingId})`,
    text:
      `Non è stato possibile preparare il file richiesto il ${input.requestedAt} per l'anno ${input.year} ` +
      `(tipologie formative: ${input.trainingTypes.join(", ")}).\n\nMotivo: ${input.reason}\n\n` +
      `Puoi prenotare di nuovo il download dalla sezione Placement:\n${input.placementUrl}\n` +
      `Se il problema si ripete, comunica al Fondo il numero della prenotazione.` +
      FOOTER,
  };
}
