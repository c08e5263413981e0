import { z } from "zod";

/**
 * The queue message contract between the edge and the pool. Versioned: the pool accepts every
 * version it knows and rejects others loudly (they go to the dead-letter queue, never dropped).
 * Adding a field is a new version only when old pools could misread it.
 */
export const inboundMessageV1 = z.object({
  version: z.literal(1),
  kind: z.literal("inbound.message"),
  tenantId: z.uuid(),
  channelId: z.uuid(),
  channelKind: z.enum(["telegram", "whatsapp", "email", "voice", "webchat"]),
  /** Identifies the conversation within the channel (the Telegram chat id). */
  conversationKey: z.string().min(1).max(128),
  /** Unique per channel for one inbound event; a redelivery carries the same id. */
  providerMessageId: z.string().min(1).max(128),
  text: z.string().max(32_768),
  sender: z.object({
    id: z.string().min(1).max(128),
    displayName: z.string().max(256).optional(),
    username: z.string().max(256).optional(),
    languageCode: z.string().max(35).optional(),
  }),
  /** When the end user sent it, by the provider's clock. */
  sentAt: z.iso.datetime(),
  /** When the edge accepted it. */
  receivedAt: z.iso.datetime(),
});

export const inboundMessage = z.discriminatedUnion("version", [inboundMessageV1]);

export type InboundMessage = z.infer<typeof inboundMessage>;

/** SQS FIFO limits: 128 characters of alphanumerics and punctuation for group and dedup ids. */
export function messageGroupId(message: Pick<InboundMessage, "channelId" | "conversationKey">): string {
  return `${message.channelId}:${message.conversationKey}`.slice(0, 128);
}

export function deduplicationId(message: Pick<InboundMessage, "channelId" | "providerMessageId">): string {
  return `${message.channelId}:${message.providerMessageId}`.slice(0, 128);
}
