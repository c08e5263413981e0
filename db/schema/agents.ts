import { index, integer, jsonb, pgTable, real, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tenantId, timestamps } from "./columns";

/**
 * A model policy as stored. `core/tenants/settings.ts` validates it (zod `modelPolicy`) before it is
 * written and narrows it when read; the database layer only needs its JSON shape, and `db/` never
 * imports `core/`.
 */
export interface ModelPolicyRecord {
  candidates: Array<{ provider: string; model: string }>;
  rules: Array<{ name?: string; when: Record<string, unknown>; use: Array<{ provider: string; model: string }> }>;
}

/**
 * An agent's draft configuration. Every change writes a new row in `agent_versions` (the full
 * configuration as it was) and bumps `current_version`; channels answer with `published_version`,
 * which only publishing (or a rollback) moves; turns record the version they ran with.
 * `model_policy` null means the tenant's default policy. Deleting sets `deleted_at`: conversations
 * and usage keep pointing at the agent and its versions.
 */
export const agents = pgTable(
  "agents",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    systemPrompt: text("system_prompt").notNull(),
    /** @deprecated superseded by `model_policy`; kept so older rows and readers keep working. */
    model: text("model").notNull().default("gpt-4o-mini"),
    modelPolicy: jsonb("model_policy").$type<ModelPolicyRecord | null>(),
    temperature: real("temperature").notNull().default(0.3),
    maxOutputTokens: integer("max_output_tokens").notNull().default(512),
    memoryWindow: integer("memory_window").notNull().default(12),
    /** Tenant tools (`tools.id`) the agent may call. */
    toolIds: jsonb("tool_ids").$type<string[]>().notNull().default([]),
    /** Built-in tools by name (core/engine/tools.ts). */
    builtinTools: jsonb("builtin_tools").$type<string[]>().notNull().default([]),
    /** Tools of connected integrations by name (`hubspot.find_contact`, core/integrations). */
    integrationTools: jsonb("integration_tools").$type<string[]>().notNull().default([]),
    /**
     * Knowledge bases the agent answers from: every ready source of the base, including sources
     * added after the base was attached.
     */
    knowledgeBaseIds: jsonb("knowledge_base_ids").$type<string[]>().notNull().default([]),
    /** Single sources attached on their own (without the rest of their base). */
    knowledgeSourceIds: jsonb("knowledge_source_ids").$type<string[]>().notNull().default([]),
    /** The draft: the newest version, whose configuration the columns above hold. */
    currentVersion: integer("current_version").notNull().default(1),
    /** The version channels answer with (its configuration is in `agent_versions`). */
    publishedVersion: integer("published_version").notNull().default(1),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [index("agents_tenant_idx").on(t.tenantId, t.createdAt)],
);

/** The configuration an agent version ran with: everything a turn needs, frozen. */
export interface AgentVersionConfig {
  name: string;
  systemPrompt: string;
  modelPolicy: ModelPolicyRecord | null;
  temperature: number;
  maxOutputTokens: number;
  memoryWindow: number;
  toolIds: string[];
  builtinTools: string[];
  integrationTools: string[];
  /** Absent in versions saved before bases could be attached: read as none. */
  knowledgeBaseIds: string[];
  knowledgeSourceIds: string[];
  channelIds: string[];
}

export type AgentVersionChange = "create" | "update" | "rollback";

/** Append-only history of an agent's configuration; `version` counts from 1 per agent. */
export const agentVersions = pgTable(
  "agent_versions",
  {
    id: id(),
    tenantId: tenantId(),
    agentId: uuid("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    config: jsonb("config").$type<AgentVersionConfig>().notNull(),
    change: text("change").$type<AgentVersionChange>().notNull(),
    /** For a rollback: the version whose configuration was restored. */
    restoredFrom: integer("restored_from"),
    /** `<actor type>:<actor id>` of whoever made the change. */
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    /** When and by whom this version was last made the published one; null if it never was. */
    publishedAt: timestamp("published_at", { withTimezone: true }),
    publishedBy: text("published_by"),
  },
  (t) => [
    unique("agent_versions_agent_version_unique").on(t.agentId, t.version),
    index("agent_versions_tenant_idx").on(t.tenantId, t.agentId),
  ],
);

/** How a test run ended: every case passed, some failed, or the run itself could not finish. */
export type AgentTestRunStatus = "running" | "passed" | "failed" | "error";

/**
 * A test suite run against one version of an agent (core/agents/test-suite.ts): the suite as it
 * was, and per case and turn the reply, the failed expectations, latency and cost. Its turns ran in
 * isolated conversations: nothing was sent to a channel or counted in analytics and billing.
 */
export const agentTestRuns = pgTable(
  "agent_test_runs",
  {
    id: id(),
    tenantId: tenantId(),
    agentId: uuid("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    /** Which the caller asked for: `draft` or `published` (resolved to `version` when the run began). */
    target: text("target").$type<"draft" | "published">().notNull(),
    suite: jsonb("suite").$type<Record<string, unknown>>().notNull(),
    status: text("status").$type<AgentTestRunStatus>().notNull().default("running"),
    /** Per case and turn, as `core/agents/test-runs.ts` records them; null while running. */
    results: jsonb("results").$type<Record<string, unknown>>(),
    error: text("error"),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [index("agent_test_runs_agent_idx").on(t.tenantId, t.agentId, t.createdAt)],
);

export type AgentTestRun = typeof agentTestRuns.$inferSelect;
export type Agent = typeof agents.$inferSelect;
export type NewAgent = typeof agents.$inferInsert;
export type AgentVersion = typeof agentVersions.$inferSelect;
export type NewAgentVersion = typeof agentVersions.$inferInsert;
