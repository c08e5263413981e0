import { z } from "zod";

/**
 * The parts of a Telegram Bot API `Update` the product reads. Unknown fields pass through
 * untouched (Telegram adds fields over time); known fields are checked for type.
 * https://core.telegram.org/bots/api#update
 */
export const telegramUser = z.looseObject({
  id: z.number().int(),
  is_bot: z.boolean(),
  first_name: z.string(),
  last_name: z.string().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});

export const telegramChat = z.looseObject({
  id: z.number().int(),
  type: z.enum(["private", "group", "supergroup", "channel"]),
  title: z.string().optional(),
  username: z.string().optional(),
  first_name: z.string().optional(),
});

export const telegramMessage = z.looseObject({
  message_id: z.number().int(),
  date: z.number().int(),
  chat: telegramChat,
  from: telegramUser.optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
});

export const telegramUpdate = z.looseObject({
  update_id: z.number().int().nonnegative(),
  message: telegramMessage.optional(),
});

export type TelegramUpdate = z.infer<typeof telegramUpdate>;
export type TelegramMessage = z.infer<typeof telegramMessage>;

/** The update kinds Telegram may send (besides `update_id`); used to name what is ignored. */
export function updateKind(update: Record<string, unknown>): string {
  return Object.keys(update).find((key) => key !== "update_id") ?? "empty";
}
