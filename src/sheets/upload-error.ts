/** A problem with an uploaded file; the message is an Italian sentence for the clerk. */
export class UploadError extends Error {
  override name = "UploadError";
}
