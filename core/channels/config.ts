import { z } from "zod";

/**
 * A channel's non-secret settings (`channels.config`), per kind. Secrets (bot tokens, access
 * tokens) are never here: they are sealed in `channels.credentials`.
 */
const origin = z
  .string()
  .max(200)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
    } catch {
      return false;
    }
  }, "an origin such as https://shop.example.com (scheme, host and port only)");

export const commonSettings = z.object({
  /**
   * Rapid messages: messages arriving within this many milliseconds of the previous one are
   * answered together, in one turn. 0 (the default) answers each message on its own.
   */
  mergeWindowMs: z.number().int().min(0).max(30_000).optional(),
  /** The answer to Telegram's `/start` (and a web chat's greeting); a default when unset. */
  welcomeMessage: z.string().trim().min(1).max(1000).optional(),
});

/**
 * A template parameter's value: fixed text, or text naming the turn's values: `{{name}}` (the
 * person's name), `{{phone}}` (their number) and `{{reply}}` (the agent's reply, on one line).
 */
const templateValue = z.string().min(1).max(1024);

export const whatsappTemplate = z.object({
  /** An approved message template, sent instead of free-form text outside the 24-hour window. */
  name: z.string().min(1).max(512),
  language: z.string().min(2).max(15),
  /** The header's variable: text, or the image, video or document (a public https link). */
  header: z
    .discriminatedUnion("type", [
      z.object({ type: z.literal("text"), text: templateValue }),
      z.object({
        type: z.enum(["image", "video", "document"]),
        link: z.url().refine((url) => url.startsWith("https://"), "an https URL"),
        filename: z.string().min(1).max(240).optional(),
      }),
    ])
    .optional(),
  /** The body's variables `{{1}}`, `{{2}}`… in order. */
  body: z.array(templateValue).max(20).optional(),
  /** Buttons with a variable: a URL button's dynamic suffix or a quick reply's payload, by the button's index. */
  buttons: z
    .array(z.object({ index: z.number().int().min(0).max(9), type: z.enum(["url", "quick_reply"]), value: templateValue }))
    .max(10)
    .optional(),
});
export type WhatsAppTemplate = z.infer<typeof whatsappTemplate>;

export const telegramSettings = commonSettings.extend({
  /** Telegram's link previews for URLs in replies; off unless set (a preview makes Telegram fetch the URL). */
  linkPreviews: z.boolean().optional(),
});
export const whatsappSettings = commonSettings.extend({
  /** The Cloud API phone number id messages are sent from. */
  phoneNumberId: z.string().regex(/^\d{5,32}$/, "the numeric phone number id from the Meta app"),
  businessAccountId: z
    .string()
    .regex(/^\d{5,32}$/)
    .optional(),
  template: whatsappTemplate.optional(),
});
/** A phone number in E.164: `+`, the country code and the number, 8 to 15 digits in all. */
export const e164 = z.string().regex(/^\+[1-9]\d{7,14}$/, "a phone number in E.164 form, such as +14155550100");

export const smsSettings = commonSettings.extend({
  /** The Twilio number (E.164) people text and replies come from; connecting points its messaging webhook at us. */
  phoneNumber: e164,
});
/**
 * A Twilio number answering calls through ConversationRelay (Twilio's speech-to-text and
 * text-to-speech); `welcomeMessage` is the greeting spoken when the call is answered.
 */
export const voiceSettings = commonSettings.extend({
  phoneNumber: e164,
  /** The caller's language, for speech recognition and the voice (BCP 47, e.g. en-US). */
  language: z
    .string()
    .regex(/^[a-z]{2,3}-[A-Z]{2}$/, "a language tag such as en-US")
    .optional(),
  /** A text-to-speech voice Twilio offers for the language; Twilio's default when unset. */
  voice: z
    .string()
    .regex(/^[A-Za-z0-9.:_-]{1,64}$/)
    .optional(),
  /** Barge-in: the caller may talk over a reply, which stops it. On unless set to false. */
  interruptible: z.boolean().optional(),
  /** Where a handoff transfers the call (the tenant's own number); without it a handoff ends the call politely. */
  transferTo: e164.optional(),
  /** The longest a call may last; the agent then says goodbye and hangs up. */
  maxCallMinutes: z.number().int().min(1).max(240).optional(),
  /** Record calls (both sides, kept in the tenant's Twilio account). Off unless set. */
  recording: z.boolean().optional(),
  /** False: answer with `<Gather>` and `<Say>` instead of ConversationRelay (accounts without it); slower, no barge-in into the agent's words. */
  conversationRelay: z.boolean().optional(),
});
export const webchatSettings = commonSettings.extend({
  /** Pages allowed to embed the widget; a session is bound to the origin that opened it. */
  allowedOrigins: z.array(origin).min(1).max(20),
  /** Messages a visitor may send per minute. */
  messagesPerMinute: z.number().int().min(1).max(120).optional(),
});

/** What the platform stores beside the settings, learned when connecting (e.g. the bot's username). */
export interface ChannelFacts {
  botId?: number;
  botUsername?: string;
  /** SMS: the Twilio number's id (`PN…`). */
  phoneNumberSid?: string;
  /** SMS: our webhook URL as Twilio is given it, carrying the sealed auth token Twilio signs with (`?s=`). */
  statusCallbackUrl?: string;
  /** Voice: the number's voice webhook URL, likewise. */
  voiceUrl?: string;
}

export type ChannelSettings = z.infer<typeof commonSettings> &
  Partial<z.infer<typeof telegramSettings>> &
  Partial<z.infer<typeof whatsappSettings>> &
  Partial<z.infer<typeof webchatSettings>> &
  Partial<z.infer<typeof smsSettings>> &
  Partial<z.infer<typeof voiceSettings>> &
  ChannelFacts;

/** Each setting's type, as read from a stored config (built once: zod schemas are costly to make). */
const SETTING_TYPES: { [K in keyof ChannelSettings]-?: z.ZodType<NonNullable<ChannelSettings[K]>> } = {
  mergeWindowMs: z.number().int().min(0).max(30_000),
  welcomeMessage: z.string(),
  phoneNumberId: z.string(),
  businessAccountId: z.string(),
  template: whatsappTemplate,
  allowedOrigins: z.array(z.string()),
  messagesPerMinute: z.number().int(),
  linkPreviews: z.boolean(),
  botId: z.number().int(),
  botUsername: z.string(),
  phoneNumber: z.string(),
  phoneNumberSid: z.string(),
  statusCallbackUrl: z.string(),
  voiceUrl: z.string(),
  language: z.string(),
  voice: z.string(),
  interruptible: z.boolean(),
  transferTo: z.string(),
  maxCallMinutes: z.number().int(),
  recording: z.boolean(),
  conversationRelay: z.boolean(),
};

/** The stored config, read leniently: a field with the wrong type is treated as unset. */
export function readChannelSettings(config: Record<string, unknown> | null | undefined): ChannelSettings {
  const value = config ?? {};
  const result: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(SETTING_TYPES) as Array<[string, z.ZodType]>) {
    if (value[key] === undefined) continue;
    const parsed = schema.safeParse(value[key]);
    if (parsed.success) result[key] = parsed.data;
  }
  return result;
}

export const DEFAULT_WELCOME_MESSAGE = "Hello! Send me a message and I will do my best to help.";
