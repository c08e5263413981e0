import { index, integer, pgTable, real, text } from "drizzle-orm/pg-core";
import { id, tenantId, timestamps } from "./columns";

/** An agent's configuration: prompt and model policy. Tools and knowledge hang off it. */
export const agents = pgTable(
  "agents",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    systemPrompt: text("system_prompt").notNull(),
    model: text("model").notNull().default("gpt-4o-mini"),
    temperature: real("temperature").notNull().default(0.3),
    maxOutputTokens: integer("max_output_tokens").notNull().default(512),
    memoryWindow: integer("memory_window").notNull().default(12),
    ...timestamps(),
  },
  (t) => [index("agents_tenant_idx").on(t.tenantId, t.createdAt)],
);

export type Agent = typeof agents.$inferSelect;
export type NewAgent = typeof agents.$inferInsert;
