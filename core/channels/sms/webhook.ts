import { z } from "zod";
import type { NormalizedPayload } from "../adapter";
import type { ChannelAddress } from "../address";
import { deliveryStatusMessage, inboundChatMessage } from "../../queue/builders";
import type { Attachment } from "../../queue/inbound-message";

/** MMS carry at most 10 media. */
const MAX_MEDIA = 10;

/**
 * What Twilio posts (form-encoded) to a number's messaging webhook and to a message's status
 * callback. An incoming message has `Body` (empty for a picture alone), `NumMedia` and
 * `MediaUrl<n>`/`MediaContentType<n>`; a status callback has `MessageStatus` and no `Body`. Other
 * fields (`FromCity`, `ApiVersion`...) are allowed and ignored.
 */
export const twilioMessagingWebhook = z
  .object({
    MessageSid: z.string().regex(/^(SM|MM)[0-9a-f]{32}$/, "a Twilio message SID"),
    AccountSid: z.string().regex(/^AC[0-9a-f]{32}$/, "a Twilio account SID"),
    From: z.string().min(1).max(64),
    To: z.string().min(1).max(64),
    Body: z.string().max(32_768).optional(),
    NumMedia: z.coerce.number().int().min(0).max(MAX_MEDIA).optional(),
    MessageStatus: z.string().min(1).max(32).optional(),
    ErrorCode: z.string().max(16).optional(),
    ErrorMessage: z.string().max(500).optional(),
  })
  .catchall(z.string().max(2048));
export type TwilioMessagingWebhook = z.infer<typeof twilioMessagingWebhook>;

/** Twilio's message statuses we record; `queued`, `sending`, `accepted`, `scheduled` say nothing yet. */
const STATUSES: Record<string, "sent" | "delivered" | "read" | "failed"> = {
  sent: "sent",
  delivered: "delivered",
  read: "read",
  undelivered: "failed",
  failed: "failed",
};

const e164 = /^\+[1-9]\d{7,14}$/;

/** One Twilio request to queue messages: an incoming SMS or MMS, or a status of a reply we sent. */
export function normalizeTwilioMessaging(address: ChannelAddress, payload: TwilioMessagingWebhook, receivedAt: Date): NormalizedPayload {
  const base = { tenantId: address.tenantId, channelId: address.channelId, channelKind: "sms" as const, receivedAt };
  if (payload.Body === undefined && payload.NumMedia === undefined) {
    const status = payload.MessageStatus ? STATUSES[payload.MessageStatus] : undefined;
    if (!status) return { messages: [], ignored: [`status:${payload.MessageStatus ?? "none"}`] };
    const error = [payload.ErrorCode, payload.ErrorMessage].filter(Boolean).join(" ");
    return {
      messages: [
        deliveryStatusMessage(
          { ...base, conversationKey: payload.To, providerMessageId: `status:${payload.MessageSid}:${status}` },
          {
            outboundProviderMessageId: payload.MessageSid,
            status,
            ...(error ? { error: error.slice(0, 500) } : {}),
            at: receivedAt.toISOString(),
          },
        ),
      ],
      ignored: [],
    };
  }
  // Short codes and alphanumeric senders cannot be answered by a person's number.
  if (!e164.test(payload.From)) return { messages: [], ignored: ["sender:not_a_phone_number"] };
  const attachments = mediaOf(payload);
  const text = payload.Body ?? "";
  if (!text && attachments.length === 0) return { messages: [], ignored: ["message:empty"] };
  return {
    messages: [
      inboundChatMessage(
        {
          ...base,
          // The number texted: the pool answers only from the channel's own number.
          accountId: payload.To.slice(0, 64),
          conversationKey: payload.From,
          providerMessageId: payload.MessageSid,
        },
        {
          text,
          sender: { id: payload.From },
          // Twilio's webhook carries no send time; it posts within a second of receiving.
          sentAt: receivedAt.toISOString(),
          ...(attachments.length ? { attachments } : {}),
        },
      ),
    ],
    ignored: [],
  };
}

function mediaOf(payload: TwilioMessagingWebhook): Attachment[] {
  const out: Attachment[] = [];
  for (let index = 0; index < Math.min(payload.NumMedia ?? 0, MAX_MEDIA); index++) {
    const url = payload[`MediaUrl${index}`];
    if (typeof url !== "string" || !url || url.length > 512) continue;
    const mimeType = payload[`MediaContentType${index}`];
    out.push({
      kind: kindOf(typeof mimeType === "string" ? mimeType : ""),
      fileId: url,
      ...(typeof mimeType === "string" && mimeType ? { mimeType: mimeType.slice(0, 128) } : {}),
    });
  }
  return out;
}

function kindOf(mimeType: string): Attachment["kind"] {
  if (mimeType.startsWith("image/")) return "image";
  if (mimeType.startsWith("audio/")) return "audio";
  if (mimeType.startsWith("video/")) return "video";
  return "document";
}

/** The empty TwiML answer: the reply goes out later through the Messages API, never in the webhook's response. */
export function emptyTwiml(): Response {
  return new Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', {
    status: 200,
    headers: { "content-type": "text/xml; charset=utf-8" },
  });
}
