import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Certificate,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import { snsStringToSign, type SnsMessage } from "../../core/channels/email/sns";

const DEFAULT_TOPIC = "arn:aws:sns:us-east-1:123456789012:inbound-mail";
const SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
const COMMON_NAME = "2.5.4.3";

export interface FakeSns {
  /** `http://127.0.0.1:PORT`: the edge's SNS_TRUSTED_BASE_URL. */
  url: string;
  /** Where the signing certificate is served (the messages' `SigningCertURL`). */
  certificateUrl: string;
  /** A signed message as SNS posts it; `sign: false` leaves the signature of another message. */
  message(fields: Pick<SnsMessage, "Type" | "Message"> & Partial<SnsMessage>, options?: { version?: "1" | "2" }): Promise<SnsMessage>;
  /** An SES receipt notification with the raw mail inline (the SNS action), as SES publishes it. */
  sesReceived(rawMail: string, encoding?: "UTF8" | "BASE64", recipient?: string): string;
  /** An SES receipt notification of an S3 action: where the mail was stored, and its headers (as SES lists them), no content. */
  sesStored(rawMail: string, object: { bucket: string; key: string }, recipient?: string): string;
  /** Subscription tokens confirmed through the SubscribeURL. */
  confirmed(): string[];
  /**
   * Subscribes an HTTP endpoint to a topic as SNS does: a signed `SubscriptionConfirmation` is
   * posted to it, and it receives the topic's notifications once it has visited the SubscribeURL.
   * Resolves with the endpoint's answer to the confirmation.
   */
  subscribe(topicArn: string, endpoint: string): Promise<number>;
  /** Publishes to a topic: a signed `Notification` to each confirmed endpoint; resolves with their HTTP statuses. */
  publish(topicArn: string, message: string): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for Amazon SNS's side of an HTTP(S) subscription: an RSA key and a
 * self-signed certificate made for the test (served as PEM like SNS's `SimpleNotificationService-…pem`),
 * messages signed exactly as SNS signs them (SignatureVersion 1 SHA1withRSA, 2 SHA256withRSA, over
 * the canonical field list), and a SubscribeURL that records confirmations.
 */
export async function startFakeSns(): Promise<FakeSns> {
  const keys = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const pkcs8 = (await crypto.subtle.exportKey("pkcs8", keys.privateKey)) as ArrayBuffer;
  const signer = (hash: "SHA-1" | "SHA-256") =>
    crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSASSA-PKCS1-v1_5", hash }, false, ["sign"]);
  const pem = await selfSignedPem(keys, await signer("SHA-256"));
  const confirmations: string[] = [];
  const subscriptions: Array<{ topicArn: string; endpoint: string; token: string }> = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/SimpleNotificationService-fake.pem") {
      response.writeHead(200, { "content-type": "application/x-pem-file" }).end(pem);
    } else if (url.pathname === "/" && url.searchParams.get("Action") === "ConfirmSubscription") {
      confirmations.push(url.searchParams.get("Token") ?? "");
      response.writeHead(200, { "content-type": "text/xml" }).end("<ConfirmSubscriptionResponse/>");
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const certificateUrl = `${url}/SimpleNotificationService-fake.pem`;
  let next = 0;
  const deliver = async (endpoint: string, message: SnsMessage) => {
    const response = await fetch(endpoint, {
      method: "POST",
      // SNS posts JSON as text/plain, with the type in a header.
      headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": message.Type },
      body: JSON.stringify(message),
    });
    await response.arrayBuffer();
    return response.status;
  };
  const fake: FakeSns = {
    url,
    certificateUrl,
    async message(fields, { version = "1" } = {}) {
      next += 1;
      const token = `token-${next}`;
      const unsigned: SnsMessage = {
        MessageId: crypto.randomUUID(),
        TopicArn: DEFAULT_TOPIC,
        Timestamp: new Date().toISOString(),
        SignatureVersion: version,
        Signature: "",
        SigningCertURL: certificateUrl,
        ...(fields.Type === "SubscriptionConfirmation"
          ? {
              Token: token,
              SubscribeURL: `${url}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(fields.TopicArn ?? DEFAULT_TOPIC)}&Token=${token}`,
            }
          : {}),
        ...fields,
      };
      const key = await signer(version === "1" ? "SHA-1" : "SHA-256");
      const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(snsStringToSign(unsigned)));
      return { ...unsigned, Signature: fields.Signature ?? Buffer.from(signature).toString("base64") };
    },
    sesReceived(rawMail, encoding = "UTF8", recipient = "support@tenant.example") {
      return JSON.stringify({
        notificationType: "Received",
        mail: { source: "sender@example.com", messageId: crypto.randomUUID() },
        receipt: {
          recipients: [recipient],
          action: { type: "SNS", topicArn: "arn:aws:sns:us-east-1:123456789012:inbound-mail", encoding },
        },
        content: encoding === "BASE64" ? Buffer.from(rawMail).toString("base64") : rawMail,
      });
    },
    sesStored(rawMail, object, recipient = "support@tenant.example") {
      const head = rawMail.split(/\r?\n\r?\n/)[0] ?? "";
      const headers = head
        .replace(/\r?\n(?=[ \t])/g, "")
        .split(/\r?\n/)
        .flatMap((line) => {
          const colon = line.indexOf(":");
          return colon > 0 ? [{ name: line.slice(0, colon), value: line.slice(colon + 1).trim() }] : [];
        });
      return JSON.stringify({
        notificationType: "Received",
        mail: { source: "sender@example.com", messageId: crypto.randomUUID(), headersTruncated: false, headers },
        receipt: {
          recipients: [recipient],
          action: { type: "S3", topicArn: DEFAULT_TOPIC, bucketName: object.bucket, objectKeyPrefix: "", objectKey: object.key },
        },
      });
    },
    confirmed: () => [...confirmations],
    async subscribe(topicArn, endpoint) {
      const confirmation = await fake.message({
        Type: "SubscriptionConfirmation",
        TopicArn: topicArn,
        Message: `You have chosen to subscribe to the topic ${topicArn}.`,
      });
      subscriptions.push({ topicArn, endpoint, token: confirmation.Token ?? "" });
      return deliver(endpoint, confirmation);
    },
    async publish(topicArn, message) {
      const confirmedEndpoints = subscriptions.filter((sub) => sub.topicArn === topicArn && confirmations.includes(sub.token));
      return Promise.all(
        confirmedEndpoints.map(async (sub) =>
          deliver(sub.endpoint, await fake.message({ Type: "Notification", TopicArn: topicArn, Message: message }, { version: "2" })),
        ),
      );
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return fake;
}

async function selfSignedPem(keys: CryptoKeyPair, sign: CryptoKey): Promise<string> {
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: COMMON_NAME, value: new AttributeValue({ utf8String: "sns.us-east-1.amazonaws.com" }) }),
    ]),
  ]);
  const algorithm = new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array([1]).buffer,
    signature: algorithm,
    issuer: name,
    validity: new Validity({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse((await crypto.subtle.exportKey("spki", keys.publicKey)) as ArrayBuffer, SubjectPublicKeyInfo),
  });
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", sign, AsnConvert.serialize(tbs));
  const der = AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: signature }));
  const base64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}
