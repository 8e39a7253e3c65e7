/** The sentence for a file that cannot be read at all. */
export const UNREADABLE = "Il file non può essere letto: salvalo di nuovo dal programma di calcolo e ricaricalo.";

/** A problem with an uploaded file; the message is an Italian sentence for the clerk. */
export class UploadError extends Error {
  override name = "UploadError";
}
