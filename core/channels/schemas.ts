import { z } from "zod";
import type { ChannelKind } from "../../db/schema";
import { channelAdapters } from "./registry";
import { channelKinds } from "../../db/schema/channels";

/**
 * The shapes of the channel verbs; the edge registers these same schemas in the OpenAPI document.
 * The kind-specific parts (credentials, settings) come from each adapter's `connection`.
 */
const name = z.string().trim().min(1).max(100);
const adapters = channelAdapters();

/** `POST /v1/channels`: kind, name, agent, and the kind's own fields (its adapter's `connectFields`). */
export const connectChannelInput = z.discriminatedUnion(
  "kind",
  adapters.map((adapter) =>
    z.object({ kind: z.literal(adapter.kind), name, agentId: z.uuid(), ...adapter.connection.connectFields }),
  ) as unknown as [z.ZodObject<{ kind: z.ZodLiteral<ChannelKind>; name: typeof name; agentId: z.ZodUUID }>],
);
export type ConnectChannelInput = z.infer<typeof connectChannelInput> & { settings?: Record<string, unknown> } & Record<string, unknown>;

/** Every kind's secret fields (`botToken`, `accessToken`), optional on `PATCH`. */
const credentialFields = Object.fromEntries(
  adapters.flatMap((adapter) =>
    adapter.connection.credentialFields.map((field) => [field, (adapter.connection.connectFields[field] as z.ZodType<string>).optional()]),
  ),
) as Record<string, z.ZodOptional<z.ZodType<string>>>;

export const updateChannelInput = z.object({
  name: name.optional(),
  agentId: z.uuid().optional(),
  /** Replaces the settings; checked against the channel kind's settings. */
  settings: z.record(z.string(), z.unknown()).optional(),
  /** New credentials (`botToken` for Telegram: the webhook is set again; `accessToken` for WhatsApp). */
  ...credentialFields,
});
export type UpdateChannelInput = z.infer<typeof updateChannelInput> & Record<string, unknown>;

export const channelDto = z.object({
  id: z.uuid(),
  agentId: z.uuid(),
  kind: z.enum(channelKinds),
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
  /** Email only: the address mail to the agent goes to (forward the business's own address to it). */
  inboundAddress: z.string().nullable(),
  /** The newest reply that could not be delivered (send failed, or the provider reported a failed delivery); null when none. */
  lastError: z.object({ message: z.string(), at: z.string(), conversationId: z.uuid() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ChannelDto = z.infer<typeof channelDto>;

export const channelTestResult = z.object({
  ok: z.boolean(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
});
export type ChannelTestResult = z.infer<typeof channelTestResult>;

export const channelTemplates = z.object({
  data: z.array(
    z.object({
      name: z.string(),
      language: z.string(),
      /** `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`…: only approved templates can be sent. */
      status: z.string(),
      category: z.string().nullable(),
      /** The header's variable (`text`, `image`, `video`, `document`), or null when it has none. */
      header: z.string().nullable(),
      /** How many `{{n}}` the body has: the `template.body` setting lists that many values. */
      bodyVariables: z.number().int(),
      /** Buttons that take a variable, by index. */
      buttons: z.array(z.object({ index: z.number().int(), type: z.enum(["url", "quick_reply"]) })),
    }),
  ),
});
