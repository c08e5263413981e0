import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { z } from "zod";
import { fromBase64 } from "../../crypto/encoding";
import { remembered } from "../../cache";

/** An Amazon SNS HTTP(S) delivery: the JSON body SNS posts to a subscribed endpoint. */
export const snsMessage = z.object({
  Type: z.enum(["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]),
  MessageId: z.string().min(1).max(128),
  TopicArn: z.string().min(1).max(256),
  Subject: z.string().max(256).optional(),
  Message: z.string().max(1024 * 1024),
  Timestamp: z.string().min(1).max(64),
  SignatureVersion: z.enum(["1", "2"]),
  Signature: z.string().min(1).max(4096),
  SigningCertURL: z.string().min(1).max(2048),
  SubscribeURL: z.string().max(4096).optional(),
  Token: z.string().max(4096).optional(),
  UnsubscribeURL: z.string().max(4096).optional(),
});
export type SnsMessage = z.infer<typeof snsMessage>;

const AWS_SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/**
 * Whether SNS's own URL (the signing certificate, the subscription confirmation) can be trusted:
 * https on `sns.<region>.amazonaws.com`, the default port, so a forged message cannot point us at a
 * certificate of its own. `trustedBase` replaces that rule with one prefix (the loopback SNS fake
 * in tests; never set in production).
 */
export function isTrustedSnsUrl(url: string, trustedBase?: string): boolean {
  if (trustedBase) return url.startsWith(trustedBase.endsWith("/") ? trustedBase : `${trustedBase}/`);
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" && parsed.port === "" && AWS_SNS_HOST.test(parsed.hostname) && !parsed.username;
  } catch {
    return false;
  }
}

/** The canonical text SNS signs: the type's fields in byte order, each `Name\nValue\n`. */
export function snsStringToSign(message: SnsMessage): string {
  const fields: Array<keyof SnsMessage> =
    message.Type === "Notification"
      ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  return fields
    .filter((field) => message[field] !== undefined)
    .map((field) => `${field}\n${message[field]}\n`)
    .join("");
}

export type SnsVerification =
  { ok: true } | { ok: false; reason: "untrusted_certificate_url" | "certificate_unavailable" | "bad_signature" };

// Certificates by URL: SNS signs with a handful, rotated rarely; fetched once per isolate.
const publicKeys = new Map<string, Promise<Uint8Array>>();

/**
 * Checks an SNS message's signature (versions 1, SHA1withRSA, and 2, SHA256withRSA) with the
 * certificate at its `SigningCertURL`, after checking that URL is SNS's own. The certificate's
 * public key is read with the `@peculiar/asn1-x509` schema and checked with WebCrypto, which runs on
 * Workers and Node alike (Node's `crypto.verify` and `X509Certificate` do not exist in workerd).
 */
export async function verifySnsMessage(
  message: SnsMessage,
  options: { trustedBase?: string | undefined; fetch?: typeof fetch } = {},
): Promise<SnsVerification> {
  if (!isTrustedSnsUrl(message.SigningCertURL, options.trustedBase)) return { ok: false, reason: "untrusted_certificate_url" };
  let spki: Uint8Array;
  try {
    spki = await publicKeyOf(message.SigningCertURL, options.fetch ?? fetch);
  } catch {
    return { ok: false, reason: "certificate_unavailable" };
  }
  let signature: Uint8Array;
  try {
    signature = fromBase64(message.Signature);
  } catch {
    return { ok: false, reason: "bad_signature" };
  }
  const hash = message.SignatureVersion === "1" ? "SHA-1" : "SHA-256";
  const key = await crypto.subtle.importKey("spki", spki as Uint8Array<ArrayBuffer>, { name: "RSASSA-PKCS1-v1_5", hash }, false, [
    "verify",
  ]);
  const valid = await crypto.subtle.verify(
    "RSASSA-PKCS1-v1_5",
    key,
    signature as Uint8Array<ArrayBuffer>,
    new TextEncoder().encode(snsStringToSign(message)),
  );
  return valid ? { ok: true } : { ok: false, reason: "bad_signature" };
}

function publicKeyOf(url: string, fetcher: typeof fetch): Promise<Uint8Array> {
  return remembered(publicKeys, url, 16, async () => {
    const response = await fetcher(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`certificate answered ${response.status}`);
    const pem = await response.text();
    const body = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem)?.[1];
    if (!body) throw new Error("not a PEM certificate");
    const certificate = AsnConvert.parse(fromBase64(body.replace(/\s+/g, "")), Certificate);
    return new Uint8Array(AsnConvert.serialize(certificate.tbsCertificate.subjectPublicKeyInfo));
  });
}
