import { remembered } from "../cache";
import { fromBase64, toBase64Url, toHex, utf8 } from "./encoding";

/**
 * Derives a per-purpose secret from a signing key with HMAC-SHA256, so a webhook can be verified
 * with no database round trip: the edge recomputes the secret from the key and the channel address.
 *
 * @example await deriveSecret(key, "telegram-webhook", channelAddress)
 */
export function deriveSecret(signingKey: string, purpose: string, subject: string): Promise<string> {
  // Derived secrets are kept: the webhook path derives one per request.
  return remembered(derivedSecrets, `${purpose}\u0000${subject}\u0000${signingKey}`, 10_000, async () => {
    const key = await hmacKey(signingKey);
    return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(`${purpose}\u0000${subject}`))));
  });
}

const derivedSecrets = new Map<string, Promise<string>>();

type Bytes = string | Uint8Array;
const bytesOf = (value: Bytes) => (typeof value === "string" ? utf8.encode(value) : value) as Uint8Array<ArrayBuffer>;

/**
 * HMAC-SHA256 of `data` under `secret` (a string's UTF-8 bytes, or raw bytes): Meta's
 * `X-Hub-Signature-256`, alert webhook signatures, anything signed with a shared secret.
 */
export function hmacSha256(secret: Bytes, data: Bytes): Promise<Uint8Array> {
  return hmac("SHA-256", secret, data);
}

/** HMAC with another hash: `SHA-1` only where a provider's scheme still uses it (Twilio's `X-Twilio-Signature`). */
export async function hmac(hash: "SHA-256" | "SHA-1", secret: Bytes, data: Bytes): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", bytesOf(secret), { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, bytesOf(data)));
}

/** {@link hmacSha256} as lower-case hex. */
export async function hmacSha256Hex(secret: Bytes, data: Bytes): Promise<string> {
  return toHex(await hmacSha256(secret, data));
}

/** SHA-256 of `data` as lower-case hex. */
export async function sha256Hex(data: Bytes): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytesOf(data))));
}

// Imported keys by signing key: the webhook path derives a secret on every request, and an
// isolate or process holds one or two keys (two during a rotation).
const importedKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(signingKey: string): Promise<CryptoKey> {
  return remembered(importedKeys, signingKey, 8, () =>
    crypto.subtle.importKey("raw", signingKeyBytes(signingKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]),
  );
}

/**
 * Compares two strings in time that depends only on their lengths, never on where they differ.
 * Hand-written because `crypto.timingSafeEqual` is Node-only and `crypto.subtle.timingSafeEqual` is
 * Workers-only; core code must run on both.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = utf8.encode(a);
  const right = utf8.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

function signingKeyBytes(signingKey: string): Uint8Array<ArrayBuffer> {
  if (signingKey.length < 32) throw new Error("signing key must be at least 32 characters");
  // Keys are generated as base64; a key that is not base64 is used as its UTF-8 bytes.
  try {
    const decoded = fromBase64(signingKey);
    if (decoded.length >= 32) return new Uint8Array(decoded);
  } catch {
    // fall through
  }
  return new Uint8Array(utf8.encode(signingKey));
}
