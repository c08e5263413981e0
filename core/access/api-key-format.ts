import { toBase64Url, toHex } from "../crypto/encoding";
import { sha256Hex } from "../crypto/hmac";

/**
 * API keys look like `ak_<public id>_<secret>`: the public id (12 random bytes, hex) names the key
 * in lists and logs and finds its row; the secret is 32 random bytes, base64url. Only SHA-256 of
 * the whole key is stored.
 *
 * Why a fast hash and not bcrypt/argon2: those slow down guessing low-entropy passwords. A key
 * with 256 random bits cannot be guessed whatever the hash speed, and a slow hash would cost
 * tens of milliseconds of CPU on every API request (Workers bill CPU time).
 */
const PREFIX = "ak";
const FORMAT = /^ak_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

export interface ParsedApiKey {
  publicId: string;
  key: string;
}

export interface NewApiKeySecret {
  /** The full key, shown to the caller once and never stored. */
  key: string;
  publicId: string;
  secretHash: string;
}

export async function generateApiKey(): Promise<NewApiKeySecret> {
  const publicId = toHex(crypto.getRandomValues(new Uint8Array(12)));
  const secret = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const key = `${PREFIX}_${publicId}_${secret}`;
  return { key, publicId, secretHash: await hashApiKey(key) };
}

/** Undefined for anything not shaped like one of our keys (so it is never looked up). */
export function parseApiKey(candidate: string): ParsedApiKey | undefined {
  const match = FORMAT.exec(candidate);
  return match ? { publicId: match[1]!, key: candidate } : undefined;
}

export function looksLikeApiKey(candidate: string): boolean {
  return candidate.startsWith(`${PREFIX}_`);
}

/** Hex SHA-256 of the whole key. */
export async function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** What lists show instead of the key: enough to recognise it, nothing to use. */
export function redactedApiKey(publicId: string): string {
  return `${PREFIX}_${publicId}_…`;
}
