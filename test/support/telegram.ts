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
