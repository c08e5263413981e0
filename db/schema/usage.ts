import { bigint, date, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { alertRules } from "./analytics";
import { agents } from "./agents";
import { createdAt, id, tenantId } from "./columns";
import { conversations, messages } from "./conversations";

/** Why a turn ended the way it did. */
/**
 * `cancelled`: the person spoke over a reply being streamed to them (a call); the turn stopped there.
 * `plan_limited`: the plan's monthly conversations or model tokens were used up; the tenant's message answered.
 */
export type TurnOutcome = "answered" | "all_failed" | "budget_blocked" | "cancelled" | "plan_limited";

/** One model call tried during a turn, in order: the fallback path. */
export interface ModelAttemptRecord {
  provider: string;
  model: string;
  /** `reply` for the answer, `summary` for folding old turns into the conversation summary. */
  purpose: "reply" | "summary";
  outcome: "ok" | "rate_limited" | "timeout" | "empty" | "error";
  /** HTTP status when the provider gave one; never the provider's message (it may echo secrets). */
  status?: number;
  latencyMs: number;
}

/** A knowledge chunk put in the turn's prompt: what the reply may cite. */
export interface RetrievedChunkRecord {
  chunkId: string;
  sourceId: string;
  knowledgeBaseId: string;
  /** Cosine similarity, 0..1. */
  score: number;
  /** The excerpt number the prompt gave it (`[n]`); absent in older records (their order). */
  n?: number;
  /** Whether the reply cites it as `[n]`; absent in older records (read as cited). */
  cited?: boolean;
}

export interface ToolCallRecord {
  name: string;
  ok: boolean;
  /** Set for tenant-defined HTTP tools (core/tools): which tool, how it went, what it cost. */
  toolId?: string;
  /** `ok`, `http_error`, `invalid_arguments`, `approval_required`, or the transport's failure code. */
  outcome?: string;
  /** The model's arguments with secret-looking fields masked. */
  arguments?: unknown;
  status?: number;
  latencyMs?: number;
  responseBytes?: number;
}

/** Which candidates the policy chose for the turn, and why. */
export interface ModelSelectionRecord {
  reason: string;
  chain: string[];
  /** Candidates left out, with why (e.g. `gemini:gemini-2.0-flash: no credentials`). */
  skipped: string[];
  budget: "normal" | "soft_limit" | "hard_limit";
}

/**
 * One conversation turn: what answered (model, provider), what it cost in tokens, money and time,
 * the agent version, the selection and its reason, the fallback path and the tool calls. Cost is in
 * nano-dollars (1e-9 USD) so monthly sums stay exact integers.
 */
export const usageRecords = pgTable(
  "usage_records",
  {
    id: id(),
    tenantId: tenantId(),
    conversationId: uuid("conversation_id").references(() => conversations.id, { onDelete: "set null" }),
    messageId: uuid("message_id").references(() => messages.id, { onDelete: "set null" }),
    agentId: uuid("agent_id").references(() => agents.id, { onDelete: "set null" }),
    agentVersion: integer("agent_version"),
    model: text("model").notNull(),
    provider: text("provider").notNull(),
    inputTokens: integer("input_tokens").notNull(),
    outputTokens: integer("output_tokens").notNull(),
    costNanoUsd: bigint("cost_nano_usd", { mode: "number" }).notNull().default(0),
    latencyMs: integer("latency_ms").notNull(),
    outcome: text("outcome").$type<TurnOutcome>().notNull().default("answered"),
    selection: jsonb("selection").$type<ModelSelectionRecord>(),
    fallbackPath: jsonb("fallback_path").$type<ModelAttemptRecord[]>().notNull().default([]),
    toolCalls: jsonb("tool_calls").$type<ToolCallRecord[]>().notNull().default([]),
    /** Knowledge chunks retrieved into the prompt (citations). */
    retrievedChunks: jsonb("retrieved_chunks").$type<RetrievedChunkRecord[]>().notNull().default([]),
    createdAt: createdAt(),
  },
  (t) => [index("usage_records_tenant_created_idx").on(t.tenantId, t.createdAt)],
);

/**
 * The month's running totals of a tenant's usage records, kept by the database (a trigger on
 * `usage_records` inserts, migration 0032), so a turn reads its budget and plan usage in one row
 * instead of summing the month's records. `month` is the UTC month's first day. Every record adds
 * its cost and tokens; the first record of an answered conversation (outcome `answered`,
 * `all_failed` or `cancelled`) in the month adds one conversation.
 */
export const usageMonths = pgTable(
  "usage_months",
  {
    tenantId: tenantId(),
    month: date("month", { mode: "string" }).notNull(),
    costNanoUsd: bigint("cost_nano_usd", { mode: "number" }).notNull().default(0),
    tokens: bigint("tokens", { mode: "number" }).notNull().default(0),
    conversations: integer("conversations").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.month] })],
);

/** The conversations `usage_months.conversations` has counted, once each per month (kept by the same trigger). */
export const usageMonthConversations = pgTable(
  "usage_month_conversations",
  {
    tenantId: tenantId(),
    month: date("month", { mode: "string" }).notNull(),
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.month, t.conversationId] })],
);

/**
 * Operational alerts for a tenant (e.g. `budget.hard_limit`), raised once per `dedupe_key` (the
 * month, for budgets) so a busy tenant does not raise thousands. Notification fan-out reads these.
 */
export const alerts = pgTable(
  "alerts",
  {
    id: id(),
    tenantId: tenantId(),
    kind: text("kind").notNull(),
    dedupeKey: text("dedupe_key").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    /** The tenant's alert rule that raised it (core/alerts); null for built-in alerts such as budgets. */
    ruleId: uuid("rule_id").references(() => alertRules.id, { onDelete: "set null" }),
    /** `none`: nothing to deliver; `pending` until delivered or out of attempts (`failed`). */
    deliveryStatus: text("delivery_status").$type<"none" | "pending" | "delivered" | "failed">().notNull().default("none"),
    deliveryAttempts: integer("delivery_attempts").notNull().default(0),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    deliveryError: text("delivery_error"),
    createdAt: createdAt(),
  },
  (t) => [
    unique("alerts_tenant_kind_dedupe_unique").on(t.tenantId, t.kind, t.dedupeKey),
    index("alerts_tenant_created_idx").on(t.tenantId, t.createdAt),
  ],
);

export type UsageRecord = typeof usageRecords.$inferSelect;
export type NewUsageRecord = typeof usageRecords.$inferInsert;
export type Alert = typeof alerts.$inferSelect;
