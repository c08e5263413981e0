import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { agents } from "./agents";
import { createdAt, id, tenantId, timestamps } from "./columns";
import { conversations } from "./conversations";

export type ToolMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type ParameterLocation = "path" | "query" | "header" | "body";
export type ToolAuthType = "none" | "api_key" | "bearer" | "basic" | "oauth2_client_credentials";

/** Which part of the response the model sees (a dot path into JSON), at most `maxBytes` of it. */
export interface ResponseMapping {
  path?: string;
  maxBytes: number;
}

/**
 * A tenant-defined HTTP tool an agent may call. `parameters` is the JSON Schema shown to the
 * model; `auth_config` is an encrypted envelope bound to `tool:<id>`.
 */
export const tools = pgTable(
  "tools",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    method: text("method").$type<ToolMethod>().notNull(),
    urlTemplate: text("url_template").notNull(),
    parameters: jsonb("parameters").$type<Record<string, unknown>>().notNull().default({}),
    /** Where each parameter goes in the request, by parameter name. */
    parameterLocations: jsonb("parameter_locations").$type<Record<string, ParameterLocation>>().notNull().default({}),
    responseMapping: jsonb("response_mapping").$type<ResponseMapping>().notNull().default({ maxBytes: 4000 }),
    timeoutMs: integer("timeout_ms").notNull().default(10000),
    /** Calls are not executed until the user or an operator confirms (see `tool_approvals`). */
    requiresApproval: boolean("requires_approval").notNull().default(false),
    authType: text("auth_type").$type<ToolAuthType>().notNull().default("none"),
    /** The non-secret part of the auth configuration (header name, client id, token URL...), for display. */
    authPublic: jsonb("auth_public").$type<Record<string, unknown>>().notNull().default({}),
    /** The whole auth configuration, secrets included, sealed (AES-256-GCM, owner `tool:<id>`). */
    authConfig: text("auth_config"),
    enabled: boolean("enabled").notNull().default(true),
    ...timestamps(),
  },
  (t) => [unique("tools_tenant_name_unique").on(t.tenantId, t.name)],
);

/** Which tools each agent may use. */
export const agentTools = pgTable(
  "agent_tools",
  {
    tenantId: tenantId(),
    agentId: uuid("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    toolId: uuid("tool_id")
      .notNull()
      .references(() => tools.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ name: "agent_tools_pk", columns: [t.agentId, t.toolId] }),
    index("agent_tools_tenant_idx").on(t.tenantId, t.agentId),
    index("agent_tools_tool_idx").on(t.toolId),
  ],
);

export type ToolApprovalStatus = "pending" | "approved" | "rejected" | "used";

/**
 * A call to a tool that requires approval: recorded when the model asks, approved by an operator
 * through the API (or confirmed by the user's next message), used once.
 */
export const toolApprovals = pgTable(
  "tool_approvals",
  {
    id: id(),
    tenantId: tenantId(),
    /** A tenant HTTP tool's call; null for an integration tool's (`integration_tool`). Exactly one of the two is set. */
    toolId: uuid("tool_id").references(() => tools.id, { onDelete: "cascade" }),
    /** An integration tool's call, `<provider>.<tool>` (core/integrations). */
    integrationTool: text("integration_tool"),
    conversationId: uuid("conversation_id").references(() => conversations.id, { onDelete: "cascade" }),
    /** The model's arguments, secret-looking fields masked; `arguments_hash` identifies the exact call. */
    arguments: jsonb("arguments").$type<Record<string, unknown>>().notNull().default({}),
    argumentsHash: text("arguments_hash").notNull(),
    status: text("status").$type<ToolApprovalStatus>().notNull().default("pending"),
    decidedBy: text("decided_by"),
    decidedAt: timestamp("decided_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index("tool_approvals_tenant_idx").on(t.tenantId, t.createdAt),
    index("tool_approvals_call_idx").on(t.toolId, t.conversationId, t.argumentsHash),
    index("tool_approvals_integration_call_idx").on(t.integrationTool, t.conversationId, t.argumentsHash),
    check("tool_approvals_one_subject", sql`num_nonnulls(${t.toolId}, ${t.integrationTool}) = 1`),
  ],
);

export type Tool = typeof tools.$inferSelect;
export type ToolApproval = typeof toolApprovals.$inferSelect;
export type NewTool = typeof tools.$inferInsert;
export type AgentTool = typeof agentTools.$inferSelect;
