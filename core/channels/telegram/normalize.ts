import type { ChannelAddress } from "../address";
import type { InboundMessage } from "../../queue/inbound-message";
import { updateKind, type TelegramUpdate } from "./update";

export type NormalizeResult =
  | { handled: true; message: InboundMessage }
  | { handled: false; reason: string };

/**
 * Turns a Telegram update into the queue contract, or says why it is not handled yet
 * (edited messages, callback queries, messages without text...). The provider message id is the
 * `update_id`, which Telegram keeps when it redelivers an update.
 */
export function normalizeTelegramUpdate(
  address: ChannelAddress,
  update: TelegramUpdate,
  receivedAt: Date,
): NormalizeResult {
  const message = update.message;
  if (!message) return { handled: false, reason: `update:${updateKind(update)}` };
  const text = message.text ?? message.caption;
  if (text === undefined || text.trim() === "") return { handled: false, reason: "message:no_text" };
  if (message.from?.is_bot) return { handled: false, reason: "message:from_bot" };

  const from = message.from;
  const displayName = from ? [from.first_name, from.last_name].filter(Boolean).join(" ") : message.chat.title;
  return {
    handled: true,
    message: {
      version: 1,
      kind: "inbound.message",
      tenantId: address.tenantId,
      channelId: address.channelId,
      channelKind: "telegram",
      conversationKey: String(message.chat.id),
      providerMessageId: String(update.update_id),
      text,
      sender: {
        id: String(from?.id ?? message.chat.id),
        ...(displayName ? { displayName } : {}),
        ...(from?.username ? { username: from.username } : {}),
        ...(from?.language_code ? { languageCode: from.language_code } : {}),
      },
      sentAt: new Date(message.date * 1000).toISOString(),
      receivedAt: receivedAt.toISOString(),
    },
  };
}
