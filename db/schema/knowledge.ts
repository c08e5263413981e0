import { boolean, index, integer, pgTable, primaryKey, real, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { id, tenantId, timestamps } from "./columns";

export type KnowledgeSourceStatus = "pending" | "indexing" | "ready" | "failed";

/** How a source's text arrives: an upload of one of these types, or a URL the pool fetches. */
export type KnowledgeSourceKind = "text" | "markdown" | "html" | "pdf" | "docx" | "csv" | "url";

/**
 * A tenant's knowledge base: a set of sources embedded with one model (fixed at creation, so the
 * vectors of a base never mix dimensions), split and retrieved with its own settings. Its chunks
 * live in the tenant's Chroma collection, tagged with the base id (core/knowledge/store.ts).
 */
export const knowledgeBases = pgTable(
  "knowledge_bases",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    /** `<provider>:<model>`, e.g. `hashing:v1-384`, `openai:text-embedding-3-small`; never changes. */
    embeddingModel: text("embedding_model").notNull(),
    chunkSize: integer("chunk_size").notNull().default(1000),
    chunkOverlap: integer("chunk_overlap").notNull().default(150),
    topK: integer("top_k").notNull().default(4),
    /** Chunks less similar than this (cosine similarity, 0..1) are not used. */
    scoreThreshold: real("score_threshold").notNull().default(0.1),
    /** Maximal marginal relevance: diverse chunks instead of the top near-duplicates. */
    mmr: boolean("mmr").notNull().default(false),
    ...timestamps(),
  },
  (t) => [index("knowledge_bases_tenant_idx").on(t.tenantId, t.createdAt)],
);

/**
 * A document or URL ingested into the tenant's vector collection. Uploads keep their bytes
 * (base64) so a re-sync can run again; `content_hash` (of the bytes and the base's splitting and
 * embedding settings) makes re-ingesting unchanged content a no-op.
 */
export const knowledgeSources = pgTable(
  "knowledge_sources",
  {
    id: id(),
    tenantId: tenantId(),
    /** Null only for sources created before knowledge bases existed; those are never retrieved. */
    knowledgeBaseId: uuid("knowledge_base_id").references(() => knowledgeBases.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind").notNull(),
    uri: text("uri"),
    /** Upload bytes, base64; null for URL sources. */
    body: text("body"),
    sizeBytes: integer("size_bytes").notNull().default(0),
    status: text("status").$type<KnowledgeSourceStatus>().notNull().default("pending"),
    contentHash: text("content_hash"),
    chunkCount: integer("chunk_count").notNull().default(0),
    error: text("error"),
    indexedAt: timestamp("indexed_at", { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    index("knowledge_sources_tenant_idx").on(t.tenantId, t.status),
    index("knowledge_sources_base_idx").on(t.tenantId, t.knowledgeBaseId, t.createdAt),
  ],
);

/**
 * The text of every chunk a source was split into, as stored in Chroma (`<source id>:<index>` there).
 * Postgres is the record: `npm run reindex` rebuilds the vector collections from these rows (after a
 * restore, a lost Chroma volume or a new embedding server), and a tenant export carries them.
 */
export const knowledgeChunks = pgTable(
  "knowledge_chunks",
  {
    tenantId: tenantId(),
    knowledgeBaseId: uuid("knowledge_base_id")
      .notNull()
      .references(() => knowledgeBases.id, { onDelete: "cascade" }),
    sourceId: uuid("source_id")
      .notNull()
      .references(() => knowledgeSources.id, { onDelete: "cascade" }),
    chunkIndex: integer("chunk_index").notNull(),
    text: text("text").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sourceId, t.chunkIndex] }),
    index("knowledge_chunks_base_idx").on(t.tenantId, t.knowledgeBaseId, t.sourceId),
  ],
);

export type KnowledgeBase = typeof knowledgeBases.$inferSelect;
export type NewKnowledgeBase = typeof knowledgeBases.$inferInsert;
export type KnowledgeSource = typeof knowledgeSources.$inferSelect;
export type NewKnowledgeSource = typeof knowledgeSources.$inferInsert;
export type KnowledgeChunk = typeof knowledgeChunks.$inferSelect;
