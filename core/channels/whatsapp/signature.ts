import { formatChannelAddress, type ChannelAddress } from "../address";
import { constantTimeEqual, deriveSecret, hmacSha256Hex } from "../../crypto/hmac";

const VERIFY_PURPOSE = "whatsapp-webhook-verify-token";

/**
 * The `hub.verify_token` of one channel: entered in the Meta app's webhook settings, checked on the
 * `GET` handshake. Derived from the signing key and the channel address like Telegram's secret, so
 * the handshake needs no database round trip.
 */
export function whatsappVerifyToken(signingKey: string, address: ChannelAddress): Promise<string> {
  return deriveSecret(signingKey, VERIFY_PURPOSE, formatChannelAddress(address));
}

export async function verifyWhatsAppVerifyToken(
  signingKey: string,
  address: ChannelAddress,
  presented: string | undefined,
): Promise<boolean> {
  return constantTimeEqual(await whatsappVerifyToken(signingKey, address), presented ?? "");
}

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

/**
 * Checks `X-Hub-Signature-256: sha256=<hex>`, Meta's HMAC-SHA256 of the raw request body under the
 * app secret, in constant time. It must be given the bytes as received: a body parsed and
 * serialised again differs (key order, escapes, spaces) and would not verify. Anything but a
 * lower- or upper-case 64-digit hex after `sha256=` (missing, `sha1=`, not hex) is refused.
 */
export async function verifyWhatsAppSignature(appSecret: string, rawBody: Uint8Array, header: string | undefined): Promise<boolean> {
  const match = SIGNATURE.exec((header ?? "").trim().toLowerCase());
  if (!match) return false;
  const expected = await hmacSha256Hex(appSecret, rawBody);
  return constantTimeEqual(expected, match[1]!);
}

/** The header Meta would send for this body (tests and the fake). */
export async function signWhatsAppBody(appSecret: string, rawBody: string | Uint8Array): Promise<string> {
  return `sha256=${await hmacSha256Hex(appSecret, rawBody)}`;
}
