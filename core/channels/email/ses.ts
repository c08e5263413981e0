import { z } from "zod";
import { formatChannelAddress } from "../address";
import type { ChannelWebhook, NormalizedPayload, WebhookRequest } from "../adapter";
import { fromBase64 } from "../../crypto/encoding";
import { constantTimeEqual, deriveSecret } from "../../crypto/hmac";
import { normalizeEmail } from "./normalize";
import { isTrustedSnsUrl, snsMessage, verifySnsMessage, type SnsMessage } from "./sns";

const PURPOSE = "ses-sns-endpoint";

/** The secret in a channel's SNS endpoint URL (`?token=`): only the tenant, who subscribes it, knows it. */
export function sesEndpointToken(signingKey: string, address: { tenantId: string; channelId: string }): Promise<string> {
  return deriveSecret(signingKey, PURPOSE, formatChannelAddress(address));
}

/** An SES receipt notification (SNS action): the raw MIME inline, UTF-8 or base64. */
const sesReceived = z.object({
  notificationType: z.literal("Received"),
  receipt: z.object({ action: z.object({ type: z.string(), encoding: z.enum(["UTF8", "BASE64"]).optional() }) }),
  content: z.string().optional(),
});

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
  let notification: z.infer<typeof sesReceived>;
  try {
    const parsed = sesReceived.safeParse(JSON.parse(message.Message));
    if (!parsed.success) return { messages: [], ignored: ["ses:not_a_receipt"] };
    notification = parsed.data;
  } catch {
    return { messages: [], ignored: ["ses:not_a_receipt"] };
  }
  if (notification.content === undefined)
    return { messages: [], ignored: [`ses:no_content_${notification.receipt.action.type.toLowerCase()}_action`] };
  const raw =
    notification.receipt.action.encoding === "BASE64" ? fromBase64(notification.content) : new TextEncoder().encode(notification.content);
  return normalizeEmail({ address, raw, receivedAt });
}
