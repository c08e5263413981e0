import { randomUUID } from "node:crypto";
import type { InboundChatMessage } from "../../core/queue/inbound-message";
import type { TenantGraph } from "../../db/fixtures";
import type { TelegramUpdate } from "../../core/channels/telegram/update";

let nextUpdateId = 100_000;

/** A private-chat text update as Telegram sends it. */
export function textUpdate(text: string, options: { chatId?: number; updateId?: number; fromId?: number } = {}): TelegramUpdate {
  const chatId = options.chatId ?? 4242;
  return {
    update_id: options.updateId ?? nextUpdateId++,
    message: {
      message_id: Math.floor(Math.random() * 1e6),
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "Ada" },
      from: { id: options.fromId ?? chatId, is_bot: false, first_name: "Ada", last_name: "Lovelace", username: "ada", language_code: "en" },
      text,
    },
  };
}

/** The queue message the edge makes of a Telegram text in `chatId`, for tests that drive the pool's turn directly. */
export function inboundTextMessage(graph: TenantGraph, chatId: string, text: string): InboundChatMessage {
  return {
    version: 1,
    kind: "inbound.message",
    tenantId: graph.tenant.id,
    channelId: graph.rows.channels.id!,
    channelKind: "telegram",
    conversationKey: chatId,
    providerMessageId: randomUUID(),
    text,
    sender: { id: chatId },
    sentAt: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
  };
}
