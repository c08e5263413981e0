import { z } from "zod";
import { telegramSettings, webchatSettings, whatsappSettings } from "./config";

/** The shapes of the channel verbs; the edge registers these same schemas in the OpenAPI document. */
const name = z.string().trim().min(1).max(100);
export const telegramBotToken = z.string().regex(/^\d{3,20}:[A-Za-z0-9_-]{10,100}$/, "a bot token from @BotFather, like 123456:ABC-DEF...");
export const whatsappAccessToken = z
  .string()
  .min(20)
  .max(1024)
  .regex(/^[A-Za-z0-9_.|-]+$/, "a WhatsApp Cloud API access token");

export const connectChannelInput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("telegram"), name, agentId: z.uuid(), botToken: telegramBotToken, settings: telegramSettings.optional() }),
  z.object({ kind: z.literal("whatsapp"), name, agentId: z.uuid(), accessToken: whatsappAccessToken, settings: whatsappSettings }),
  z.object({ kind: z.literal("webchat"), name, agentId: z.uuid(), settings: webchatSettings }),
]);
export type ConnectChannelInput = z.infer<typeof connectChannelInput>;

export const updateChannelInput = z.object({
  name: name.optional(),
  agentId: z.uuid().optional(),
  /** Replaces the settings; checked against the channel kind's settings. */
  settings: z.record(z.string(), z.unknown()).optional(),
  /** New credentials: `botToken` for Telegram (the webhook is set again), `accessToken` for WhatsApp. */
  botToken: telegramBotToken.optional(),
  accessToken: whatsappAccessToken.optional(),
});
export type UpdateChannelInput = z.infer<typeof updateChannelInput>;

export const channelDto = z.object({
  id: z.uuid(),
  agentId: z.uuid(),
  kind: z.enum(["telegram", "whatsapp", "email", "voice", "webchat"]),
  name: z.string(),
  status: z.enum(["active", "paused"]),
  /** Non-secret settings, plus what the platform learned when connecting (bot id and username). */
  settings: z.record(z.string(), z.unknown()),
  /** Whether credentials are stored; they are never returned. */
  hasCredentials: z.boolean(),
  /** `<tenant id>.<channel id>`: the channel's segment in webhook and web chat URLs. */
  address: z.string(),
  /** Where the provider sends webhooks (Telegram's is registered on connect; WhatsApp's goes in the Meta app). */
  webhookUrl: z.string().nullable(),
  /** WhatsApp only: the verify token to enter beside the webhook URL in the Meta app. */
  verifyToken: z.string().nullable(),
  /** Web chat only: the tag to put on the site. */
  embedSnippet: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ChannelDto = z.infer<typeof channelDto>;

export const channelTestResult = z.object({
  ok: z.boolean(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
});
export type ChannelTestResult = z.infer<typeof channelTestResult>;
