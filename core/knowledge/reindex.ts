import { and, asc, eq, gt, or, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { knowledgeBases, knowledgeChunks, tenants } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { ALL_MODELS_FAILED_REPLY } from "../engine/commands";
import { createEmbeddings, HashingEmbeddings, normalize, type EmbeddingCredentials } from "./embeddings";
import { ANONYMISED_CONTENT } from "../tenants/retention";
import { memoryEntry } from "./memory";
import type { KnowledgeStore } from "./store";

export interface ReindexDependencies {
  /** The owner connection (a platform operation across tenants); every read still runs tenant-scoped. */
  db: Database;
  store: KnowledgeStore;
  embeddingCredentials: (tenantId: string) => Promise<EmbeddingCredentials>;
}

export interface ReindexProgress {
  tenantId: string;
  phase: "knowledge" | "memory";
  /** Chunks or turns written so far in this tenant and phase, of `total`. */
  done: number;
  total: number;
}

export interface ReindexOutcome {
  tenants: number;
  knowledgeBases: number;
  chunks: number;
  turns: number;
}

/** Rows read and embedded at a time: bounded memory for any size of tenant. */
const PAGE = 500;

/**
 * Rebuilds the Chroma collections from the database, which is the record: each knowledge base's
 * collection from `knowledge_chunks` (embedded again with the base's model), and each tenant's
 * conversation memory from its answered turns (an inbound message and the reply to it; not the ones
 * a retention policy anonymised, nor failed answers). Every
 * collection is dropped first, so what Chroma held before (a restored backup's stale vectors, a
 * half-written collection) leaves nothing behind. Used after a restore, a lost Chroma volume or a
 * move to another Chroma server (`npm run reindex`).
 */
export async function reindex(
  deps: ReindexDependencies,
  options: { tenantIds?: string[]; onProgress?: (progress: ReindexProgress) => void } = {},
): Promise<ReindexOutcome> {
  const tenantIds = options.tenantIds ?? (await deps.db.select({ id: tenants.id }).from(tenants).orderBy(asc(tenants.id))).map((t) => t.id);
  const outcome: ReindexOutcome = { tenants: 0, knowledgeBases: 0, chunks: 0, turns: 0 };
  for (const tenantId of tenantIds) {
    const bases = await withTenant(deps.db, tenantId, (tx) =>
      tx.select().from(knowledgeBases).where(eq(knowledgeBases.tenantId, tenantId)).orderBy(asc(knowledgeBases.id)),
    );
    const [{ total }] = (await withTenant(deps.db, tenantId, (tx) =>
      tx
        .select({ total: sql<number>`count(*)::int` })
        .from(knowledgeChunks)
        .where(eq(knowledgeChunks.tenantId, tenantId)),
    )) as [{ total: number }];
    let done = 0;
    options.onProgress?.({ tenantId, phase: "knowledge", done, total });
    const credentials = bases.length ? await deps.embeddingCredentials(tenantId) : {};
    for (const base of bases) {
      await deps.store.dropKnowledgeBase({ tenantId, knowledgeBaseId: base.id });
      const embeddings = createEmbeddings(base.embeddingModel, credentials);
      let after: { sourceId: string; chunkIndex: number } | undefined;
      for (;;) {
        const page = await withTenant(deps.db, tenantId, (tx) =>
          tx
            .select()
            .from(knowledgeChunks)
            .where(
              and(
                eq(knowledgeChunks.tenantId, tenantId),
                eq(knowledgeChunks.knowledgeBaseId, base.id),
                after
                  ? or(
                      gt(knowledgeChunks.sourceId, after.sourceId),
                      and(eq(knowledgeChunks.sourceId, after.sourceId), gt(knowledgeChunks.chunkIndex, after.chunkIndex)),
                    )
                  : undefined,
              ),
            )
            .orderBy(asc(knowledgeChunks.sourceId), asc(knowledgeChunks.chunkIndex))
            .limit(PAGE),
        );
        if (page.length === 0) break;
        const vectors = await embeddings.embedDocuments(page.map((chunk) => chunk.text));
        for (const sourceId of new Set(page.map((chunk) => chunk.sourceId))) {
          const scope = { tenantId, knowledgeBaseId: base.id, sourceId };
          const chunks = page.flatMap((chunk, i) =>
            chunk.sourceId === sourceId
              ? [
                  {
                    id: `${sourceId}:${chunk.chunkIndex}`,
                    text: chunk.text,
                    embedding: normalize(vectors[i]!),
                    chunkIndex: chunk.chunkIndex,
                  },
                ]
              : [],
          );
          await deps.store.appendSourceChunks(scope, chunks);
        }
        done += page.length;
        options.onProgress?.({ tenantId, phase: "knowledge", done, total });
        const last = page.at(-1)!;
        after = { sourceId: last.sourceId, chunkIndex: last.chunkIndex };
        if (page.length < PAGE) break;
      }
      outcome.knowledgeBases += 1;
    }
    outcome.chunks += done;
    outcome.turns += await rebuildMemory(deps, tenantId, options.onProgress);
    outcome.tenants += 1;
  }
  return outcome;
}

async function rebuildMemory(
  deps: ReindexDependencies,
  tenantId: string,
  onProgress?: (progress: ReindexProgress) => void,
): Promise<number> {
  await deps.store.dropMemory(tenantId);
  const embeddings = new HashingEmbeddings();
  const answered = sql`
    from messages i
    join messages o on o.reply_to_message_id = i.id and o.direction = 'outbound' and o.content <> ${ALL_MODELS_FAILED_REPLY}
    join conversations c on c.id = i.conversation_id
    where i.tenant_id = ${tenantId} and i.direction = 'inbound'
      and i.content <> ${ANONYMISED_CONTENT} and o.content <> ${ANONYMISED_CONTENT}`;
  const [{ total }] = (
    await withTenant(deps.db, tenantId, (tx) => tx.execute<{ total: number }>(sql`select count(*)::int as total ${answered}`))
  ).rows as [{ total: number }];
  let done = 0;
  onProgress?.({ tenantId, phase: "memory", done, total });
  let after: { at: string; id: string } | undefined;
  for (;;) {
    const { rows } = await withTenant(deps.db, tenantId, (tx) =>
      tx.execute<{
        id: string;
        conversation_id: string;
        channel_id: string;
        sender_id: string | null;
        external_key: string;
        user_text: string;
        reply_text: string;
        at: string;
      }>(sql`
        select i.id, i.conversation_id, i.channel_id, i.sender->>'id' as sender_id, c.external_key,
               i.content as user_text, o.content as reply_text, to_char(i.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at
        ${answered}
        ${after ? sql`and (i.created_at, i.id) > (${after.at}::timestamptz, ${after.id}::uuid)` : sql``}
        order by i.created_at, i.id
        limit ${PAGE}`),
    );
    if (rows.length === 0) break;
    await deps.store.rememberTurns(
      tenantId,
      rows.map((row) =>
        memoryEntry(embeddings, {
          tenantId,
          // As the turn names the end user (workers/pool/turn/decide.ts).
          endUser: `${row.channel_id}:${row.sender_id ?? row.external_key}`,
          conversationId: row.conversation_id,
          messageId: row.id,
          userText: row.user_text,
          replyText: row.reply_text,
          at: new Date(row.at),
        }),
      ),
    );
    done += rows.length;
    onProgress?.({ tenantId, phase: "memory", done, total });
    const last = rows.at(-1)!;
    after = { at: last.at, id: last.id };
    if (rows.length < PAGE) break;
  }
  return done;
}
