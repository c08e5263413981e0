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

export const telegramEntity = z.looseObject({
  type: z.string(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});

const fileFields = {
  file_id: z.string(),
  file_unique_id: z.string().optional(),
  file_size: z.number().int().nonnegative().optional(),
  mime_type: z.string().optional(),
};

export const telegramMessage = z.looseObject({
  message_id: z.number().int(),
  date: z.number().int(),
  chat: telegramChat,
  from: telegramUser.optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  entities: z.array(telegramEntity).optional(),
  caption_entities: z.array(telegramEntity).optional(),
  /** Sizes of one photo, smallest first. */
  photo: z.array(z.looseObject({ ...fileFields, width: z.number().int(), height: z.number().int() })).optional(),
  document: z.looseObject({ ...fileFields, file_name: z.string().optional() }).optional(),
  audio: z.looseObject({ ...fileFields, file_name: z.string().optional() }).optional(),
  voice: z.looseObject(fileFields).optional(),
  video: z.looseObject({ ...fileFields, file_name: z.string().optional() }).optional(),
  sticker: z.looseObject({ ...fileFields, emoji: z.string().optional() }).optional(),
  location: z.looseObject({ latitude: z.number(), longitude: z.number() }).optional(),
  reply_to_message: z.looseObject({ message_id: z.number().int(), from: telegramUser.optional() }).optional(),
});

export const telegramUpdate = z.looseObject({
  update_id: z.number().int().nonnegative(),
  message: telegramMessage.optional(),
});

/** The update kinds a channel's webhook asks for (`allowed_updates`); others are never sent. */
export const TELEGRAM_ALLOWED_UPDATES = ["message", "edited_message"];

export type TelegramUpdate = z.infer<typeof telegramUpdate>;
export type TelegramMessage = z.infer<typeof telegramMessage>;

/** The update kinds Telegram may send (besides `update_id`); used to name what is ignored. */
export function updateKind(update: Record<string, unknown>): string {
  return Object.keys(update).find((key) => key !== "update_id") ?? "empty";
}
