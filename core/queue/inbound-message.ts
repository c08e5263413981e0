import { z } from "zod";
import { channelKinds } from "../../db/schema/channels";

/**
 * The queue message contract between the edge and the pool. Versioned: the pool accepts every
 * version it knows and rejects others loudly (they go to the dead-letter queue, never dropped).
 * Adding an optional field is not a new version (old pools ignore it); a field old pools could
 * misread, or a new kind of message, is. Kinds:
 * - `inbound.message`: a person wrote to a channel (the edge, from a webhook);
 * - `delivery.status`: the channel reports on a reply we sent (WhatsApp statuses): no agent runs;
 * - `conversation.flush`: answer what a conversation has left unanswered (the pool, for merged
 *   rapid messages; see workers/pool/merge.ts);
 * - `operator.message`: send a message a person wrote in the console to the conversation (the
 *   admin API, for handed-off conversations): no agent runs;
 * - `integration.event`: a connected provider reports something (a Stripe payment for a link an
 *   agent sent): the pool tells the conversation it belongs to. Not tied to a channel;
 * - `conversation.log`: a conversation was handed to a person: the pool writes its transcript to the
 *   tenant's CRMs whose connection says so (`logConversations`). No agent runs;
 * - `billing.event`: the platform's own Stripe account reports on a tenant's subscription or
 *   invoices: the pool moves the tenant's plan. Not tied to a channel.
 * A pool that does not know a kind dead-letters it (nothing is dropped): deploy pools first.
 */
const channelKind = z.enum(channelKinds);

const envelope = {
  version: z.literal(1),
  tenantId: z.uuid(),
  channelId: z.uuid(),
  channelKind,
  /** Identifies the conversation within the channel (the Telegram chat id, the WhatsApp number, the web chat session). */
  conversationKey: z.string().min(1).max(128),
  /** Unique per channel for one event; a redelivery carries the same id (the queue's deduplication id). */
  providerMessageId: z.string().min(1).max(128),
  /** When the edge (or the pool) accepted it. */
  receivedAt: z.iso.datetime(),
  /** The edge request that accepted it, so the pool's log lines join the edge's. */
  requestId: z.string().max(128).optional(),
  /**
   * The provider account the event was addressed to, as the payload names it (WhatsApp
   * `metadata.phone_number_id`). The edge cannot check it (no database); the pool answers only
   * events addressed to the channel's own account.
   */
  accountId: z.string().min(1).max(64).optional(),
  /**
   * The provider's order of events (Telegram's `update_id`, which grows with every update of a
   * bot). Webhook deliveries can overtake each other on the way to the queue; a conversation's
   * messages received together are answered in this order, not the queue's.
   */
  sequence: z.number().int().nonnegative().optional(),
  /**
   * `draft`: answer with the agent's draft instead of its published version (the console's
   * playground). Set only by the edge, for web chat sessions a user with `agents:write` opened.
   */
  agentVersion: z.literal("draft").optional(),
};

/** A file or place attached to a message; the pool fetches media through the channel's API when it can. */
export const attachment = z.object({
  kind: z.enum(["image", "audio", "voice", "video", "document", "sticker", "location"]),
  /** The channel's file reference: Telegram `file_id`, WhatsApp media id. */
  fileId: z.string().max(512).optional(),
  mimeType: z.string().max(128).optional(),
  fileName: z.string().max(512).optional(),
  fileSize: z.number().int().nonnegative().optional(),
  latitude: z.number().optional(),
  longitude: z.number().optional(),
  name: z.string().max(512).optional(),
  address: z.string().max(1024).optional(),
  /**
   * The text of a document (PDF, DOCX, CSV, HTML, Markdown, plain text), read by the pool after
   * downloading it, so the agent can answer about what was sent. Never set by the edge.
   */
  text: z.string().max(20_000).optional(),
});
export type Attachment = z.infer<typeof attachment>;

export const inboundMessageV1 = z.object({
  ...envelope,
  kind: z.literal("inbound.message"),
  /** The text, or the caption of a photo or document; may be empty when only attachments came. */
  text: z.string().max(32_768),
  sender: z.object({
    id: z.string().min(1).max(128),
    displayName: z.string().max(256).optional(),
    username: z.string().max(256).optional(),
    languageCode: z.string().max(35).optional(),
  }),
  /** When the end user sent it, by the provider's clock. */
  sentAt: z.iso.datetime(),
  attachments: z.array(attachment).max(10).optional(),
  /** A choice the person picked (WhatsApp button or list reply); `text` holds its title. */
  choice: z.object({ id: z.string().max(256), title: z.string().max(256) }).optional(),
  /**
   * Group chats (Telegram): the pool answers only when the bot is mentioned or replied to, which
   * needs the bot's id and username from the channel's record.
   */
  /**
   * Email: what a reply needs to thread in every mail client (`Re:` subject, `In-Reply-To`,
   * `References`) and the thread's name our own Message-IDs carry (core/channels/email/thread.ts).
   */
  email: z
    .object({
      subject: z.string().max(998),
      messageId: z.string().min(1).max(998),
      references: z.array(z.string().max(998)).max(10),
      threadId: z.string().regex(/^r[a-z2-7]{26}$/),
    })
    .optional(),
  /**
   * Where the reply is delivered on the edge, for channels whose person is connected to the edge
   * itself: a phone call's Durable Object (which holds Twilio's ConversationRelay WebSocket and
   * speaks it) or a web chat session's (which streams it to the open widget). The URL carries a
   * token for that call or session. Set only by the edge.
   */
  replyUrl: z.url().max(2048).optional(),
  chat: z
    .object({
      type: z.enum(["private", "group", "supergroup", "channel"]),
      /** Usernames mentioned with `@`, lower case, without the `@`. */
      mentions: z.array(z.string().max(64)).max(50),
      /** The author of the message this one replies to. */
      replyToSenderId: z.string().max(64).optional(),
    })
    .optional(),
});

export const deliveryStatusV1 = z.object({
  ...envelope,
  kind: z.literal("delivery.status"),
  /** The provider's id of the message we sent (WhatsApp `wamid`). */
  outboundProviderMessageId: z.string().min(1).max(256),
  status: z.enum(["sent", "delivered", "read", "failed"]),
  /** Why a send failed, as the provider says it. */
  error: z.string().max(500).optional(),
  /** Voice: the caller interrupted the reply; this is what they heard of it, which the reply's stored text becomes. */
  spoken: z.string().max(32_768).optional(),
  /** When the provider recorded the status. */
  at: z.iso.datetime(),
});

export const conversationFlushV1 = z.object({
  ...envelope,
  kind: z.literal("conversation.flush"),
});

export const operatorMessageV1 = z.object({
  ...envelope,
  kind: z.literal("operator.message"),
  /** The outbound message row the admin API recorded as `pending`. */
  messageId: z.uuid(),
});

export const integrationEventV1 = z.object({
  version: z.literal(1),
  kind: z.literal("integration.event"),
  tenantId: z.uuid(),
  /** The connection whose webhook address received it (the address is checked like a channel's). */
  connectionId: z.uuid(),
  provider: z.string().min(1).max(40),
  /** The provider's event id (Stripe `evt_…`): the queue's deduplication id; the pool handles each once. */
  eventId: z.string().min(1).max(128),
  eventType: z.string().min(1).max(128),
  receivedAt: z.iso.datetime(),
  requestId: z.string().max(128).optional(),
  /** A payment the event reports, as the provider names it; the pool finds its conversation within the tenant. */
  payment: z
    .object({
      paymentIntentId: z.string().max(128).optional(),
      paymentLinkId: z.string().max(128).optional(),
      /** From the payment's metadata, which the agent's tool set; trusted only inside the address's tenant. */
      conversationId: z.uuid().optional(),
      amount: z.number().int().nonnegative(),
      currency: z.string().min(3).max(3),
    })
    .optional(),
});

export const conversationLogV1 = z.object({
  version: z.literal(1),
  kind: z.literal("conversation.log"),
  tenantId: z.uuid(),
  conversationId: z.uuid(),
  /** Why: a handoff (from the chat's /human or the admin API). */
  reason: z.enum(["handoff"]),
  /** Which handoff (its time): one transcript per handoff, whatever the redeliveries. */
  occurrence: z.string().min(1).max(64),
  receivedAt: z.iso.datetime(),
  requestId: z.string().max(128).optional(),
});

export const billingEventV1 = z.object({
  version: z.literal(1),
  kind: z.literal("billing.event"),
  /** Stripe's event id (`evt_…`): the queue's deduplication id. */
  eventId: z.string().min(1).max(128),
  eventType: z.string().min(1).max(128),
  /** The event's `created` (Unix seconds): a subscription event older than the last one applied changes nothing. */
  created: z.number().int(),
  /** The tenant as the platform's customer (`cus_…`); the pool finds the tenant by it. */
  customerId: z.string().min(1).max(128),
  /** Subscription events, and a completed Checkout (which only names its subscription). */
  subscription: z
    .object({
      id: z.string().min(1).max(128),
      status: z.string().max(40).optional(),
      priceIds: z.array(z.string().max(128)).max(20).optional(),
    })
    .optional(),
  receivedAt: z.iso.datetime(),
  requestId: z.string().max(128).optional(),
});

/** Everything the pool consumes from the inbound queue. */
export const inboundMessage = z.discriminatedUnion("kind", [
  inboundMessageV1,
  deliveryStatusV1,
  conversationFlushV1,
  operatorMessageV1,
  integrationEventV1,
  conversationLogV1,
  billingEventV1,
]);

export type InboundMessage = z.infer<typeof inboundMessage>;
/** A person's message: the kind that runs the agent. */
export type InboundChatMessage = z.infer<typeof inboundMessageV1>;
export type DeliveryStatusMessage = z.infer<typeof deliveryStatusV1>;
export type ConversationFlushMessage = z.infer<typeof conversationFlushV1>;
export type OperatorMessage = z.infer<typeof operatorMessageV1>;
export type IntegrationEventMessage = z.infer<typeof integrationEventV1>;
export type ConversationLogMessage = z.infer<typeof conversationLogV1>;
export type BillingEventMessage = z.infer<typeof billingEventV1>;
/** The kinds that carry a channel's envelope (all but integration events, conversation logs and billing events). */
export type ChannelQueueMessage = Exclude<InboundMessage, IntegrationEventMessage | ConversationLogMessage | BillingEventMessage>;

/** SQS FIFO limits: 128 characters of alphanumerics and punctuation for group and dedup ids. */
export function messageGroupId(message: InboundMessage): string {
  // A connection's events in order, apart from every conversation.
  if (message.kind === "integration.event") return `integration:${message.connectionId}`;
  if (message.kind === "conversation.log") return `log:${message.conversationId}`;
  // A customer's billing events in the order Stripe sent them.
  if (message.kind === "billing.event") return `billing:${message.customerId}`.slice(0, 128);
  // Flushes wait for a conversation to go quiet; in the conversation's own group they would hold
  // back the very messages they wait for, so they queue in a group of their own (still in order).
  const prefix = message.kind === "conversation.flush" ? "flush:" : "";
  return `${prefix}${message.channelId}:${message.conversationKey}`.slice(0, 128);
}

export function deduplicationId(message: InboundMessage): string {
  if (message.kind === "integration.event") return `${message.connectionId}:${message.eventId}`.slice(0, 128);
  if (message.kind === "conversation.log") return `log:${message.conversationId}:${message.occurrence}`.slice(0, 128);
  if (message.kind === "billing.event") return `billing:${message.eventId}`.slice(0, 128);
  return `${message.channelId}:${message.providerMessageId}`.slice(0, 128);
}
