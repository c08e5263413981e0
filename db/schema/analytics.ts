import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { id, tenantId, timestamps } from "./columns";

/**
 * Analytics rollups, one row per tenant × hour × channel × agent (× provider × model for usage),
 * recomputed by the pool's rollup job (core/analytics/rollup.ts) from messages, conversations and
 * usage records, so the analytics API reads hours, not messages. Response times keep a histogram
 * per row (counts per `RESPONSE_BUCKETS_MS` bucket), so p95 over any range is merged from rows.
 */
export const analyticsTrafficHourly = pgTable(
  "analytics_traffic_hourly",
  {
    tenantId: tenantId(),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    channelId: uuid("channel_id").notNull(),
    agentId: uuid("agent_id").notNull(),
    messagesIn: integer("messages_in").notNull().default(0),
    messagesOut: integer("messages_out").notNull().default(0),
    conversationsStarted: integer("conversations_started").notNull().default(0),
    handoffs: integer("handoffs").notNull().default(0),
    sendFailures: integer("send_failures").notNull().default(0),
    responses: integer("responses").notNull().default(0),
    responseMsSum: bigint("response_ms_sum", { mode: "number" }).notNull().default(0),
    responseHistogram: integer("response_histogram").array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.hour, t.channelId, t.agentId] })],
);

export const analyticsUsageHourly = pgTable(
  "analytics_usage_hourly",
  {
    tenantId: tenantId(),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    channelId: uuid("channel_id").notNull(),
    agentId: uuid("agent_id").notNull(),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    turns: integer("turns").notNull().default(0),
    failedTurns: integer("failed_turns").notNull().default(0),
    budgetBlocked: integer("budget_blocked").notNull().default(0),
    fallbacks: integer("fallbacks").notNull().default(0),
    inputTokens: bigint("input_tokens", { mode: "number" }).notNull().default(0),
    outputTokens: bigint("output_tokens", { mode: "number" }).notNull().default(0),
    costNanoUsd: bigint("cost_nano_usd", { mode: "number" }).notNull().default(0),
    modelLatencyMsSum: bigint("model_latency_ms_sum", { mode: "number" }).notNull().default(0),
    toolCalls: integer("tool_calls").notNull().default(0),
    toolFailures: integer("tool_failures").notNull().default(0),
    knowledgeHits: integer("knowledge_hits").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.hour, t.channelId, t.agentId, t.provider, t.model] })],
);

export const analyticsToolsHourly = pgTable(
  "analytics_tools_hourly",
  {
    tenantId: tenantId(),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    agentId: uuid("agent_id").notNull(),
    tool: text("tool").notNull(),
    calls: integer("calls").notNull().default(0),
    failures: integer("failures").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.hour, t.agentId, t.tool] })],
);

/** Who wrote in which hour: distinct end users over any range are counted from these rows. */
export const analyticsEndUsersHourly = pgTable(
  "analytics_end_users_hourly",
  {
    tenantId: tenantId(),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    channelId: uuid("channel_id").notNull(),
    agentId: uuid("agent_id").notNull(),
    endUser: text("end_user").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.hour, t.channelId, t.agentId, t.endUser] })],
);

export type AlertRuleKind = "cost_over" | "error_rate" | "no_traffic";

/** What a rule watches (validated by core/alerts/schemas.ts). */
export type AlertCondition =
  | { kind: "cost_over"; thresholdUsd: number; windowMinutes: number }
  | { kind: "error_rate"; threshold: number; minTurns: number; windowMinutes: number }
  | { kind: "no_traffic"; windowMinutes: number };

/** Where a firing rule is sent. The webhook's signing secret is sealed in `secret_sealed`. */
export type AlertDelivery = { channel: "email"; to: string[] } | { channel: "webhook"; url: string };

/**
 * A tenant's alert rule, evaluated by the pool every minute or so. On a change from `ok` to
 * `firing` an `alerts` row is written (rule_id set, delivery pending) and delivered by email or to
 * a signed webhook.
 */
export const alertRules = pgTable(
  "alert_rules",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    condition: jsonb("condition").$type<AlertCondition>().notNull(),
    delivery: jsonb("delivery").$type<AlertDelivery>().notNull(),
    secretSealed: text("secret_sealed"),
    enabled: boolean("enabled").notNull().default(true),
    state: text("state").$type<"ok" | "firing">().notNull().default("ok"),
    lastEvaluatedAt: timestamp("last_evaluated_at", { withTimezone: true }),
    lastFiredAt: timestamp("last_fired_at", { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [index("alert_rules_tenant_created_idx").on(t.tenantId, t.createdAt)],
);

export type AlertRule = typeof alertRules.$inferSelect;
