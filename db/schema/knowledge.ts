import { index, pgTable, text } from "drizzle-orm/pg-core";
import { id, tenantId, timestamps } from "./columns";

export type KnowledgeSourceStatus = "pending" | "indexing" | "ready" | "failed";

/** A document or URL ingested into the tenant's vector collection; `content_hash` skips re-indexing. */
export const knowledgeSources = pgTable(
  "knowledge_sources",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    kind: text("kind").notNull(),
    uri: text("uri"),
    status: text("status").$type<KnowledgeSourceStatus>().notNull().default("pending"),
    contentHash: text("content_hash"),
    error: text("error"),
    ...timestamps(),
  },
  (t) => [index("knowledge_sources_tenant_idx").on(t.tenantId, t.status)],
);

export type KnowledgeSource = typeof knowledgeSources.$inferSelect;
export type NewKnowledgeSource = typeof knowledgeSources.$inferInsert;
