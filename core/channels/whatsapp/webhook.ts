import { z } from "zod";
import type { ChannelAddress } from "../address";
import type { Attachment, InboundMessage } from "../../queue/inbound-message";
import { deliveryStatusMessage, inboundChatMessage } from "../../queue/builders";

/**
 * The parts of a WhatsApp Cloud API webhook the product reads
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples). Unknown
 * fields pass through; one POST may batch several entries, changes, messages and statuses.
 */
const media = z.looseObject({
  id: z.string(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
});

/** A WhatsApp id (`from`, `wa_id`): the international number's digits, no `+`, nothing else. */
const waIdSchema = z.string().regex(/^\d{6,20}$/, "a WhatsApp id: the phone number's digits");

export const whatsappMessage = z.looseObject({
  /** The sender's WhatsApp id: the phone number's digits. It becomes the conversation key and the reply's `to`. */
  from: waIdSchema,
  id: z.string().min(1).max(256),
  timestamp: z.string().regex(/^\d+$/),
  type: z.string(),
  text: z.looseObject({ body: z.string() }).optional(),
  interactive: z
    .looseObject({
      type: z.string(),
      button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
      list_reply: z.looseObject({ id: z.string(), title: z.string(), description: z.string().optional() }).optional(),
    })
    .optional(),
  button: z.looseObject({ text: z.string(), payload: z.string().optional() }).optional(),
  image: media.optional(),
  audio: media.optional(),
  video: media.optional(),
  document: media.optional(),
  sticker: media.optional(),
  location: z
    .looseObject({ latitude: z.number(), longitude: z.number(), name: z.string().optional(), address: z.string().optional() })
    .optional(),
});

export const whatsappStatus = z.looseObject({
  id: z.string().min(1).max(256),
  status: z.string(),
  timestamp: z.string().regex(/^\d+$/),
  recipient_id: z.string().min(1).max(64),
  errors: z.array(z.looseObject({ code: z.number().optional(), title: z.string().optional(), message: z.string().optional() })).optional(),
});

export const whatsappWebhook = z.looseObject({
  object: z.string(),
  entry: z.array(
    z.looseObject({
      id: z.string(),
      changes: z.array(
        z.looseObject({
          field: z.string(),
          value: z.looseObject({
            messaging_product: z.string().optional(),
            metadata: z.looseObject({ phone_number_id: z.string(), display_phone_number: z.string().optional() }).optional(),
            contacts: z
              .array(z.looseObject({ wa_id: waIdSchema, profile: z.looseObject({ name: z.string().optional() }).optional() }))
              .optional(),
            messages: z.array(whatsappMessage).optional(),
            statuses: z.array(whatsappStatus).optional(),
          }),
        }),
      ),
    }),
  ),
});

export type WhatsAppWebhook = z.infer<typeof whatsappWebhook>;
export type WhatsAppMessage = z.infer<typeof whatsappMessage>;

export interface NormalizedWebhook {
  messages: InboundMessage[];
  /** What was acknowledged and not queued, with why (for the logs). */
  ignored: string[];
}

const STATUSES = new Set(["sent", "delivered", "read", "failed"]);

/**
 * Every message and status of a batched payload, in order, as queue messages. Statuses become
 * `delivery.status` (they update the stored reply and run no agent); message kinds the product
 * does not read (reactions, unsupported, system) are acknowledged and listed in `ignored`.
 */
export function normalizeWhatsAppWebhook(address: ChannelAddress, payload: WhatsAppWebhook, receivedAt: Date): NormalizedWebhook {
  const out: NormalizedWebhook = { messages: [], ignored: [] };
  if (payload.object !== "whatsapp_business_account") {
    out.ignored.push(`object:${payload.object}`);
    return out;
  }
  const base = { tenantId: address.tenantId, channelId: address.channelId, channelKind: "whatsapp" as const, receivedAt };
  for (const entry of payload.entry) {
    for (const change of entry.changes) {
      if (change.field !== "messages") {
        out.ignored.push(`field:${change.field}`);
        continue;
      }
      const names = new Map((change.value.contacts ?? []).map((contact) => [contact.wa_id, contact.profile?.name]));
      const account = change.value.metadata?.phone_number_id;
      const addressed = account ? { accountId: account.slice(0, 64) } : {};
      for (const message of change.value.messages ?? []) {
        const content = contentOf(message);
        if (!content) {
          out.ignored.push(`message:${message.type}`);
          continue;
        }
        const name = names.get(message.from);
        out.messages.push(
          inboundChatMessage(
            { ...base, ...addressed, conversationKey: message.from, providerMessageId: message.id },
            {
              text: content.text,
              sender: { id: message.from, ...(name ? { displayName: name.slice(0, 256) } : {}) },
              sentAt: new Date(Number(message.timestamp) * 1000).toISOString(),
              ...(content.attachments.length ? { attachments: content.attachments } : {}),
              ...(content.choice ? { choice: content.choice } : {}),
            },
          ),
        );
      }
      for (const status of change.value.statuses ?? []) {
        if (!STATUSES.has(status.status)) {
          out.ignored.push(`status:${status.status}`);
          continue;
        }
        const error = status.errors?.[0];
        out.messages.push(
          deliveryStatusMessage(
            {
              ...base,
              ...addressed,
              conversationKey: status.recipient_id,
              providerMessageId: `status:${status.id}:${status.status}`.slice(0, 128),
            },
            {
              outboundProviderMessageId: status.id,
              status: status.status as "sent" | "delivered" | "read" | "failed",
              ...(error ? { error: `${error.code ?? ""} ${error.title ?? error.message ?? ""}`.trim().slice(0, 500) } : {}),
              at: new Date(Number(status.timestamp) * 1000).toISOString(),
            },
          ),
        );
      }
    }
  }
  return out;
}

function contentOf(
  message: WhatsAppMessage,
): { text: string; attachments: Attachment[]; choice?: { id: string; title: string } } | undefined {
  switch (message.type) {
    case "text":
      return message.text ? { text: message.text.body, attachments: [] } : undefined;
    case "interactive": {
      const reply = message.interactive?.button_reply ?? message.interactive?.list_reply;
      return reply
        ? { text: reply.title, attachments: [], choice: { id: reply.id.slice(0, 256), title: reply.title.slice(0, 256) } }
        : undefined;
    }
    case "button":
      return message.button
        ? {
            text: message.button.text,
            attachments: [],
            choice: { id: (message.button.payload ?? message.button.text).slice(0, 256), title: message.button.text.slice(0, 256) },
          }
        : undefined;
    case "image":
    case "audio":
    case "video":
    case "document":
    case "sticker": {
      const file = message[message.type];
      if (!file) return undefined;
      return {
        text: file.caption ?? "",
        attachments: [
          {
            kind: message.type,
            fileId: file.id,
            ...(file.mime_type ? { mimeType: file.mime_type.slice(0, 128) } : {}),
            ...(file.filename ? { fileName: file.filename.slice(0, 512) } : {}),
          },
        ],
      };
    }
    case "location": {
      const place = message.location;
      if (!place) return undefined;
      return {
        text: "",
        attachments: [
          {
            kind: "location",
            latitude: place.latitude,
            longitude: place.longitude,
            ...(place.name ? { name: place.name.slice(0, 512) } : {}),
            ...(place.address ? { address: place.address.slice(0, 1024) } : {}),
          },
        ],
      };
    }
    default:
      return undefined;
  }
}
