import { timingSafeEqual } from "node:crypto";

/** A fresh random token: 32 bytes, URL-safe. */
export const randomToken = (bytes = 32) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");

export const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

/**
 * Whether two secrets are equal, in a time that tells nothing about them: both are hashed
 * first, so that even their lengths are compared in constant time.
 */
export function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest();
  return timingSafeEqual(digest(a), digest(b)) && a === b;
}
