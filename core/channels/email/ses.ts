import { z } from "zod";
import { formatChannelAddress } from "../address";
import type { ChannelWebhook, NormalizedPayload, WebhookRequest } from "../adapter";
import { fromBase64 } from "../../crypto/encoding";
import { constantTimeEqual, deriveSecret } from "../../crypto/hmac";
import { deliveryStatusMessage } from "../../queue/builders";
import { normalizeEmail } from "./normalize";
import { isTrustedSnsUrl, snsMessage, verifySnsMessage, type SnsMessage } from "./sns";

const PURPOSE = "ses-sns-endpoint";

/** The secret in a channel's SNS endpoint URL (`?token=`): only the tenant, who subscribes it, knows it. */
export function sesEndpointToken(signingKey: string, address: { tenantId: string; channelId: string }): Promise<string> {
  return deriveSecret(signingKey, PURPOSE, formatChannelAddress(address));
}

/**
 * An SES receipt notification: the raw MIME inline (SNS action, UTF-8 or base64), or, for an S3
 * action, the stored object's place and the message's headers.
 */
const sesReceived = z.object({
  notificationType: z.literal("Received"),
  mail: z
    .object({ headers: z.array(z.object({ name: z.string().max(256), value: z.string().max(16_384) })).max(500) })
    .partial()
    .optional(),
  receipt: z.object({
    action: z.object({
      type: z.string(),
      encoding: z.enum(["UTF8", "BASE64"]).optional(),
      bucketName: z.string().min(3).max(63).optional(),
      objectKey: z.string().min(1).max(400).optional(),
    }),
  }),
  content: z.string().optional(),
});

/** The reference an S3-stored message travels as, read by the pool with the channel's AWS key (core/channels/email/stored.ts). */
export const STORED_MAIL_TYPE = "message/rfc822";

/**
 * What SES reports about a reply it sent (an identity's notifications, `notificationType`, or a
 * configuration set's SNS event destination, `eventType`): `mail.messageId` is SES's id.
 */
const sesSendingEvent = z
  .object({
    notificationType: z.enum(["Bounce", "Complaint", "Delivery"]).optional(),
    eventType: z.enum(["Bounce", "Complaint", "Delivery"]).optional(),
    mail: z.object({ messageId: z.string().min(1).max(256), timestamp: z.string().optional() }),
    bounce: z
      .object({
        bounceType: z.string(),
        bouncedRecipients: z.array(z.object({ emailAddress: z.string(), diagnosticCode: z.string().optional() })).default([]),
        timestamp: z.string().optional(),
      })
      .optional(),
    delivery: z.object({ timestamp: z.string().optional() }).optional(),
  })
  .refine((event) => event.notificationType ?? event.eventType);

/**
 * Amazon SES inbound for tenants whose mail does not go through Cloudflare: a receipt rule's SNS
 * action publishes each message to a topic the tenant subscribes at the channel's endpoint
 * (`/webhooks/ses/<address>?token=…`, shown as the channel's `webhookUrl`). The token is checked
 * before the body is read (an endpoint nobody else can subscribe to), then SNS's signature
 * (versions 1 and 2) with the certificate from SNS's own host, then the mail is normalised like the
 * `email()` handler's. A subscription confirmation is confirmed (SNS's own URL only). SES's SNS
 * action carries messages up to 150 KB and bounces larger ones to their sender; an S3 action's
 * notification has no content and is acknowledged with a logged reason.
 */
export const sesWebhook: ChannelWebhook = {
  async verifyRequest({ address, query, secrets }) {
    return constantTimeEqual(await sesEndpointToken(secrets.signingKey, address), query.get("token") ?? "")
      ? { ok: true }
      : { ok: false, status: 401, reason: "bad_token", message: "Missing or wrong token in the SNS endpoint URL." };
  },
  async verifyBody({ secrets }, raw) {
    let parsed: SnsMessage;
    try {
      const result = snsMessage.safeParse(JSON.parse(new TextDecoder().decode(raw)));
      // Not an SNS message at all: the intake answers 400 with the fields.
      if (!result.success) return { ok: true };
      parsed = result.data;
    } catch {
      return { ok: true };
    }
    const verified = await verifySnsMessage(parsed, { trustedBase: secrets.snsTrustedBase });
    if (verified.ok) return verified;
    return {
      ok: false,
      status: 403,
      reason: verified.reason,
      message:
        verified.reason === "untrusted_certificate_url"
          ? "The signing certificate is not Amazon SNS's."
          : verified.reason === "certificate_unavailable"
            ? "The signing certificate could not be fetched."
            : "The SNS signature does not match the message.",
    };
  },
  payload: snsMessage,
  payloadName: "an Amazon SNS message",
  normalize: (address, message: SnsMessage, receivedAt, request) => normalizeSns(address, message, receivedAt, request),
  acknowledge: ({ messages, ignored }) => (messages.length ? { ok: true } : { ok: true, ignored: ignored[0] }),
};

async function normalizeSns(
  address: { tenantId: string; channelId: string },
  message: SnsMessage,
  receivedAt: Date,
  request: WebhookRequest,
): Promise<NormalizedPayload> {
  if (message.Type === "SubscriptionConfirmation") {
    if (!message.SubscribeURL || !isTrustedSnsUrl(message.SubscribeURL, request.secrets.snsTrustedBase)) {
      return { messages: [], ignored: ["sns:untrusted_subscribe_url"] };
    }
    const confirmed = await fetch(message.SubscribeURL, { signal: AbortSignal.timeout(5_000) });
    // Not confirmed: SNS sends the confirmation again, and the tenant can confirm by hand.
    if (!confirmed.ok) throw new Error(`SNS answered ${confirmed.status} to the subscription confirmation`);
    return { messages: [], ignored: ["sns:subscription_confirmed"] };
  }
  if (message.Type === "UnsubscribeConfirmation") return { messages: [], ignored: ["sns:unsubscribed"] };
  let body: unknown;
  try {
    body = JSON.parse(message.Message);
  } catch {
    return { messages: [], ignored: ["ses:not_a_notification"] };
  }
  const event = sesSendingEvent.safeParse(body);
  if (event.success) return sendingEvent(address, event.data, message, receivedAt);
  const parsed = sesReceived.safeParse(body);
  if (!parsed.success) return { messages: [], ignored: ["ses:not_a_notification"] };
  const notification = parsed.data;
  const { action } = notification.receipt;
  if (notification.content === undefined) {
    if (action.type === "S3" && action.bucketName && action.objectKey && notification.mail?.headers?.length) {
      return storedInS3(
        address,
        notification.mail.headers,
        { region: message.TopicArn.split(":")[3] ?? "", bucket: action.bucketName, key: action.objectKey },
        receivedAt,
      );
    }
    return { messages: [], ignored: [`ses:no_content_${action.type.toLowerCase()}_action`] };
  }
  const raw =
    notification.receipt.action.encoding === "BASE64" ? fromBase64(notification.content) : new TextEncoder().encode(notification.content);
  return normalizeEmail({ address, raw, receivedAt });
}

/**
 * A bounce or a delivery of one of our replies: the reply's provider id is the Message-ID SES put on
 * it (`<id>@<region>.amazonses.com`, `email.amazonses.com` in us-east-1), the topic's region being
 * SES's. A permanent bounce fails the reply with the recipient server's words; a transient one is
 * SES still trying; a complaint is logged (the reply was delivered).
 */
async function sendingEvent(
  address: { tenantId: string; channelId: string },
  event: z.infer<typeof sesSendingEvent>,
  message: SnsMessage,
  receivedAt: Date,
): Promise<NormalizedPayload> {
  const type = event.notificationType ?? event.eventType;
  const region = message.TopicArn.split(":")[3] ?? "";
  const outboundProviderMessageId = `${event.mail.messageId}@${region === "us-east-1" ? "email" : region}.amazonses.com`;
  const envelope = {
    tenantId: address.tenantId,
    channelId: address.channelId,
    channelKind: "email" as const,
    providerMessageId: `sns:${message.MessageId}`.slice(0, 128),
    receivedAt,
    conversationKey: `ses.${event.mail.messageId}`.slice(0, 128),
  };
  if (type === "Delivery") {
    return {
      messages: [
        deliveryStatusMessage(envelope, {
          outboundProviderMessageId,
          status: "delivered",
          at: event.delivery?.timestamp ?? receivedAt.toISOString(),
        }),
      ],
      ignored: [],
    };
  }
  if (type === "Bounce" && event.bounce?.bounceType === "Permanent") {
    const recipient = event.bounce.bouncedRecipients[0];
    return {
      messages: [
        deliveryStatusMessage(envelope, {
          outboundProviderMessageId,
          status: "failed",
          error: `${recipient?.emailAddress ?? "the recipient"}: ${recipient?.diagnosticCode ?? "permanently bounced"}`.slice(0, 500),
          at: event.bounce.timestamp ?? receivedAt.toISOString(),
        }),
      ],
      ignored: [],
    };
  }
  return { messages: [], ignored: [type === "Bounce" ? "ses:transient_bounce" : "ses:complaint"] };
}

/**
 * A message SES stored in S3 (its receipt rule's S3 action, for mail over the SNS action's 150 KB):
 * everything that decides where it goes (sender, thread, loop checks, Message-ID) is in the
 * notification's headers and is decided here like any mail's; the body stays in the tenant's
 * bucket, referenced as one `message/rfc822` attachment that the pool reads with the channel's AWS
 * key before the turn and puts in place of the subject.
 */
async function storedInS3(
  address: { tenantId: string; channelId: string },
  headers: Array<{ name: string; value: string }>,
  object: { region: string; bucket: string; key: string },
  receivedAt: Date,
): Promise<NormalizedPayload> {
  // A header value never carries a line break into the head this builds.
  const flat = (text: string) => text.replace(/[\r\n]+/g, " ");
  const head = headers.map(({ name, value }) => `${flat(name).replace(/:/g, "")}: ${flat(value)}`).join("\r\n");
  const result = await normalizeEmail({ address, raw: new TextEncoder().encode(`${head}\r\n\r\n`), receivedAt });
  return {
    ...result,
    messages: result.messages.map((queued) =>
      queued.kind === "inbound.message"
        ? {
            ...queued,
            attachments: [
              {
                kind: "document" as const,
                fileId: `s3:${object.region}:${object.bucket}/${object.key}`.slice(0, 512),
                mimeType: STORED_MAIL_TYPE,
                fileName: "message.eml",
              },
            ],
          }
        : queued,
    ),
  };
}
