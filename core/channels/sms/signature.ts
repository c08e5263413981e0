import { constantTimeEqual, hmac } from "../../crypto/hmac";
import { toBase64 } from "../../crypto/encoding";

/**
 * Twilio's `X-Twilio-Signature`: HMAC-SHA1 under the account's auth token over the full URL Twilio
 * called, followed by every POST parameter's name and value in parameter-name order, in base64.
 *
 * Hand-written (not `twilio.validateRequest`): the edge does not load the Twilio SDK (it needs
 * Node's `crypto` and pulls in axios), and the scheme is one HMAC that core/crypto already has.
 */
export async function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]>): Promise<string> {
  const sorted = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  let data = url;
  for (const [name, value] of sorted) data += name + value;
  return toBase64(await hmac("SHA-1", authToken, data));
}

/** Whether `signature` is Twilio's for this request (compared in constant time). */
export async function verifyTwilioSignature(
  authToken: string,
  url: string,
  params: Iterable<[string, string]>,
  signature: string | null,
): Promise<boolean> {
  if (!signature || signature.length > 128) return false;
  return constantTimeEqual(signature, await twilioSignature(authToken, url, params));
}
