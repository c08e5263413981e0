import { index, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { agents } from "./agents";
import { id, tenantId, timestamps } from "./columns";

export const channelKinds = ["telegram", "whatsapp", "email", "sms", "voice", "webchat"] as const;
export type ChannelKind = (typeof channelKinds)[number];

export const channelStatuses = ["active", "paused"] as const;
export type ChannelStatus = (typeof channelStatuses)[number];

/**
 * Where an agent talks to people. `config` holds non-secret settings; `credentials` holds an
 * encrypted envelope from `core/crypto/secrets.ts` bound to `channel:<id>`, never plaintext.
 */
export const channels = pgTable(
  "channels",
  {
    id: id(),
    tenantId: tenantId(),
    agentId: uuid("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    kind: text("kind").$type<ChannelKind>().notNull(),
    name: text("name").notNull(),
    status: text("status").$type<ChannelStatus>().notNull().default("active"),
    config: jsonb("config").$type<Record<string, unknown>>().notNull().default({}),
    credentials: text("credentials"),
    ...timestamps(),
  },
  (t) => [index("channels_tenant_idx").on(t.tenantId, t.kind), index("channels_agent_idx").on(t.agentId)],
);

export type Channel = typeof channels.$inferSelect;
export type NewChannel = typeof channels.$inferInsert;
