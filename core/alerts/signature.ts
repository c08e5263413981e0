import { toBase64Url } from "../crypto/encoding";
import { constantTimeEqual, hmacSha256Hex } from "../crypto/hmac";

/** The header carrying a webhook alert's signature. */
export const SIGNATURE_HEADER = "x-agent-signature";

/**
 * Signs a webhook body: `X-Agent-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
 * HMAC-SHA256 keyed with the rule's signing secret (the whole `whsec_…` string, as UTF-8) over
 * `<t>.<raw body>`. Receivers recompute it, compare in constant time and refuse a `t` older than a
 * few minutes (replays).
 */
export async function signWebhook(secret: string, body: string, timestamp: number): Promise<string> {
  return `t=${timestamp},v1=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

/** Checks a `X-Agent-Signature` header: the receiver's side of {@link signWebhook}. */
export async function verifyWebhookSignature(
  secret: string,
  header: string,
  body: string,
  options: { now?: number; toleranceSeconds?: number } = {},
): Promise<boolean> {
  const parts = Object.fromEntries(header.split(",").map((part) => part.trim().split("=", 2) as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || typeof parts.v1 !== "string") return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  return constantTimeEqual(parts.v1, await hmacSha256Hex(secret, `${timestamp}.${body}`));
}

/** A new signing secret: `whsec_` and 32 random bytes, base64url. */
export function newSigningSecret(): string {
  return `whsec_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}
