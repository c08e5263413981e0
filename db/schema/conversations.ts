import { sql } from "drizzle-orm";
import { type AnyPgColumn, index, jsonb, pgTable, text, timestamp, unique, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { agents } from "./agents";
import { channels } from "./channels";
import { createdAt, id, tenantId } from "./columns";

/** `handed_off`: a person asked for a human; the agent stays silent until the conversation is released. */
export type ConversationStatus = "open" | "closed" | "handed_off";
export type MessageDirection = "inbound" | "outbound";
/**
 * `sending`: claimed for sending and handed to the channel; a redelivery that finds a reply in
 * this state does not send it again (see workers/pool/turn.ts). `covered`: the reply row of an
 * inbound message answered together with later ones by one merged reply (rapid messages).
 */
export type MessageStatus = "received" | "pending" | "sending" | "sent" | "failed" | "covered";

/** What the channel later reported about a sent reply (WhatsApp statuses); null when it reports nothing. */
export type DeliveryStatus = "sent" | "delivered" | "read" | "failed";

/** Who sent an inbound message, as the channel describes them (display name, handle...). */
export interface MessageSender {
  id?: string;
  name?: string;
  username?: string;
  [key: string]: unknown;
}

/**
 * One thread with one person on one channel, found by the channel's own key (e.g. a chat id).
 * Memory: the agent sees `summary` (older turns, folded in by the engine when the memory window
 * overflows; it covers messages created up to `summary_through`) plus the recent messages after
 * it, and nothing from before `reset_at`.
 */
export const conversations = pgTable(
  "conversations",
  {
    id: id(),
    tenantId: tenantId(),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    agentId: uuid("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    externalKey: text("external_key").notNull(),
    status: text("status").$type<ConversationStatus>().notNull().default("open"),
    handedOffAt: timestamp("handed_off_at", { withTimezone: true }),
    /** The person texted an opt-out keyword (SMS `STOP`): nothing is sent to them until they opt in again (`START`). */
    optedOutAt: timestamp("opted_out_at", { withTimezone: true }),
    resetAt: timestamp("reset_at", { withTimezone: true }),
    summary: text("summary"),
    summaryThrough: timestamp("summary_through", { withTimezone: true }),
    createdAt: createdAt(),
    lastMessageAt: timestamp("last_message_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("conversations_channel_external_key_unique").on(t.channelId, t.externalKey),
    index("conversations_tenant_idx").on(t.tenantId, t.lastMessageAt),
  ],
);

/**
 * Every message in and out. Two unique indexes carry the idempotency invariant: a redelivered
 * inbound message (same channel and provider id) is recognised, and an inbound message gets at
 * most one reply (`reply_to_message_id` is unique).
 */
export const messages = pgTable(
  "messages",
  {
    id: id(),
    tenantId: tenantId(),
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    direction: text("direction").$type<MessageDirection>().notNull(),
    providerMessageId: text("provider_message_id"),
    replyToMessageId: uuid("reply_to_message_id").references((): AnyPgColumn => messages.id, {
      onDelete: "set null",
    }),
    status: text("status").$type<MessageStatus>().notNull(),
    content: text("content").notNull(),
    sender: jsonb("sender").$type<MessageSender>(),
    error: text("error"),
    /** The channel's delivery report for an outbound message (sent, delivered, read, failed). */
    deliveryStatus: text("delivery_status").$type<DeliveryStatus>(),
    createdAt: createdAt(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("messages_inbound_provider_id_unique")
      .on(t.channelId, t.providerMessageId)
      .where(sql`${t.direction} = 'inbound'`),
    uniqueIndex("messages_reply_to_unique").on(t.replyToMessageId),
    index("messages_conversation_created_idx").on(t.conversationId, t.createdAt),
    index("messages_tenant_idx").on(t.tenantId, t.createdAt),
    // An end user's messages by their sender id (contact export and erasure: core/contacts/contacts.ts).
    index("messages_inbound_sender_idx")
      .on(t.tenantId, sql`(${t.sender}->>'id')`)
      .where(sql`${t.direction} = 'inbound'`),
  ],
);

export type Conversation = typeof conversations.$inferSelect;
export type NewConversation = typeof conversations.$inferInsert;
export type Message = typeof messages.$inferSelect;
export type NewMessage = typeof messages.$inferInsert;
