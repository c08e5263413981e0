import { boolean, index, jsonb, pgTable, primaryKey, text, unique, uuid } from "drizzle-orm/pg-core";
import { agents } from "./agents";
import { id, tenantId, timestamps } from "./columns";

export type ToolMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

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

export type Tool = typeof tools.$inferSelect;
export type NewTool = typeof tools.$inferInsert;
export type AgentTool = typeof agentTools.$inferSelect;
