import type { Verification, WebhookRequest } from "../adapter";
import { openWebhookSeal } from "../credentials";
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

/**
 * The edge's check of a Twilio webhook (SMS and voice): the auth token is opened from the URL's
 * sealed `s` (bound to the channel and `<kind>-webhook`), then `X-Twilio-Signature` is checked over
 * the URL Twilio called and the form's fields. A missing or foreign seal and a wrong signature look
 * the same to the caller: 403.
 */
export function verifyTwilioWebhook(kind: "sms" | "voice") {
  return async ({ address, headers, secrets, url }: WebhookRequest, rawBody: Uint8Array): Promise<Verification> => {
    if (!secrets.keyring) return { ok: false, status: 503, reason: "no_keyring", message: "Twilio webhooks are not configured here." };
    const authToken = await openWebhookSeal(secrets.keyring, kind, address, new URL(url).searchParams.get("s"));
    let params: URLSearchParams;
    try {
      params = new URLSearchParams(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(rawBody));
    } catch {
      params = new URLSearchParams();
    }
    const signed = authToken !== undefined && (await verifyTwilioSignature(authToken, url, params, headers.get("x-twilio-signature")));
    return signed ? { ok: true } : { ok: false, status: 403, reason: "bad_signature", message: "Missing or wrong X-Twilio-Signature." };
  };
}
