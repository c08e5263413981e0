import { maximalMarginalRelevance as langchainMmr } from "@langchain/core/utils/math";
import { Semaphore } from "async-mutex";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { and, eq, inArray, isNotNull, or, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import {
  knowledgeBases,
  knowledgeChunks,
  knowledgeSources,
  type KnowledgeBase,
  type KnowledgeSource,
  type KnowledgeSourceKind,
} from "../../db/schema";
import { withTenant } from "../../db/tenant";
import type { Logger } from "../observability/log";
import { createEmbeddings, EmbeddingUnavailableError, normalize, type EmbeddingCredentials } from "./embeddings";
import type { DataJob, KnowledgeJob } from "./jobs";
import { extractText, IngestError, kindOfContentType } from "./parsers";
import type { RetrievedChunk } from "./prompt";
import type { ChunkHit, KnowledgeStore } from "./store";
import type { UrlFetcher } from "./url-fetch";
import { fromBase64 } from "../crypto/encoding";

export interface KnowledgeDependencies {
  db: Database;
  store: KnowledgeStore;
  fetchUrl: UrlFetcher;
  /** Keys for hosted embedding models for this tenant (its own keys, else the platform's). */
  embeddingCredentials: (tenantId: string) => Promise<EmbeddingCredentials>;
  logger: Logger;
}

export type IngestOutcome = "indexed" | "unchanged" | "failed" | "gone";

/**
 * Runs one knowledge job. Ingest: `pending → indexing → ready | failed`; the content hash (bytes
 * plus the base's splitting and embedding settings) makes re-ingesting unchanged content a no-op.
 * A source's own problem (corrupt file, refused URL, no text, no key for the embedding model) ends
 * in `failed` with a readable error and no retry; anything else (Chroma or the database down)
 * throws so the queue retries, and on the last allowed receive (`lastAttempt`) the source is
 * marked failed too rather than left `indexing`.
 */
export async function runKnowledgeJob(
  deps: KnowledgeDependencies,
  job: Exclude<KnowledgeJob, DataJob>,
  options: { lastAttempt?: boolean } = {},
): Promise<IngestOutcome> {
  if (job.kind === "knowledge.delete_source") {
    await deps.store.deleteSourceChunks(job);
    return "gone";
  }
  if (job.kind === "knowledge.delete_base") {
    await deps.store.dropKnowledgeBase(job);
    return "gone";
  }
  if (job.kind === "knowledge.forget") {
    await deps.store.forgetTurns(job);
    return "gone";
  }
  try {
    return await ingestSource(deps, job.tenantId, job.sourceId);
  } catch (error) {
    if (options.lastAttempt) {
      await setStatus(deps.db, job.tenantId, job.sourceId, {
        status: "failed",
        error: "indexing kept failing for a temporary reason; re-sync the source to try again",
      });
    }
    throw error;
  }
}

async function ingestSource(deps: KnowledgeDependencies, tenantId: string, sourceId: string): Promise<IngestOutcome> {
  const found = await loadSource(deps.db, tenantId, sourceId);
  if (!found) return "gone";
  const { source, base } = found;
  const logger = deps.logger.child({ tenantId, sourceId, knowledgeBaseId: base.id });
  try {
    let kind = source.kind as KnowledgeSourceKind;
    let bytes: Uint8Array;
    if (kind === "url") {
      const fetched = await deps.fetchUrl(source.uri ?? "");
      bytes = fetched.bytes;
      const detected = kindOfContentType(fetched.contentType);
      if (!detected) throw new IngestError(`the URL returned ${fetched.contentType ?? "an unknown content type"}, which cannot be indexed`);
      kind = detected;
    } else {
      bytes = fromBase64(source.body ?? "");
    }
    const hash = await contentHash(bytes, base);
    if (hash === source.contentHash && source.status === "ready") {
      logger.log("info", "knowledge.unchanged");
      return "unchanged";
    }
    await setStatus(deps.db, tenantId, sourceId, { status: "indexing", error: null });
    // Parsing, splitting and embedding hold several times the document's size in memory: the
    // process's jobs (up to 20 at once) take turns by size, so many small documents go side by side
    // and a few large ones do not exhaust the pool's memory.
    const pieces = await withDocumentInMemory(bytes.length, async () => {
      const text = await extractText(kind as Exclude<KnowledgeSourceKind, "url">, bytes);
      // HTML is plain text by now; Markdown keeps its headings, so split on them first.
      const splitter =
        kind === "markdown"
          ? RecursiveCharacterTextSplitter.fromLanguage("markdown", { chunkSize: base.chunkSize, chunkOverlap: base.chunkOverlap })
          : new RecursiveCharacterTextSplitter({ chunkSize: base.chunkSize, chunkOverlap: base.chunkOverlap });
      const pieces = (await splitter.splitText(text)).filter((piece) => piece.trim());
      const embeddings = createEmbeddings(base.embeddingModel, await deps.embeddingCredentials(tenantId));
      const vectors = await embeddings.embedDocuments(pieces);
      await deps.store.replaceSourceChunks(
        { tenantId, knowledgeBaseId: base.id, sourceId },
        pieces.map((piece, i) => ({ id: `${sourceId}:${i}`, text: piece, embedding: normalize(vectors[i]!), chunkIndex: i })),
      );
      return pieces;
    });
    const updated = await markReady(deps.db, { tenantId, knowledgeBaseId: base.id, sourceId }, pieces, hash);
    if (!updated) {
      // Deleted while indexing: take the chunks back out.
      await deps.store.deleteSourceChunks({ tenantId, knowledgeBaseId: base.id, sourceId });
      return "gone";
    }
    logger.log("info", "knowledge.indexed", { chunks: pieces.length, kind });
    return "indexed";
  } catch (error) {
    if (error instanceof IngestError || error instanceof EmbeddingUnavailableError) {
      await setStatus(deps.db, tenantId, sourceId, { status: "failed", error: error.message });
      logger.log("warn", "knowledge.failed", { reason: error.message });
      return "failed";
    }
    throw error;
  }
}

/**
 * Source bytes a process parses and embeds at once, in KiB: 16 MiB, a few of the largest uploads
 * (5 MiB) or all twenty jobs of two receives when their documents are small. A document larger
 * than the whole budget (a fetched URL) runs alone.
 */
export const DOCUMENT_KIB_IN_MEMORY = 16 * 1024;
const documentsInMemory = new Semaphore(DOCUMENT_KIB_IN_MEMORY);

/** Runs `work` on a document of `bytes` once its size fits in what the process's other documents leave of the budget. */
export function withDocumentInMemory<T>(bytes: number, work: () => Promise<T>): Promise<T> {
  const kib = Math.min(DOCUMENT_KIB_IN_MEMORY, Math.max(1, Math.ceil(bytes / 1024)));
  return documentsInMemory.runExclusive(work, kib);
}

async function loadSource(
  db: Database,
  tenantId: string,
  sourceId: string,
): Promise<{ source: KnowledgeSource; base: KnowledgeBase } | undefined> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx
      .select({ source: knowledgeSources, base: knowledgeBases })
      .from(knowledgeSources)
      .innerJoin(knowledgeBases, eq(knowledgeBases.id, knowledgeSources.knowledgeBaseId))
      .where(and(eq(knowledgeSources.tenantId, tenantId), eq(knowledgeSources.id, sourceId)));
    return row;
  });
}

async function setStatus(db: Database, tenantId: string, sourceId: string, changes: Partial<KnowledgeSource>): Promise<boolean> {
  const rows = await withTenant(db, tenantId, (tx) =>
    tx
      .update(knowledgeSources)
      .set({ ...changes, updatedAt: new Date() })
      .where(and(eq(knowledgeSources.tenantId, tenantId), eq(knowledgeSources.id, sourceId)))
      .returning({ id: knowledgeSources.id }),
  );
  return rows.length === 1;
}

/** `ready` with the chunks' text recorded beside it, in one transaction (the record `npm run reindex` rebuilds Chroma from). */
async function markReady(
  db: Database,
  scope: { tenantId: string; knowledgeBaseId: string; sourceId: string },
  pieces: string[],
  hash: string,
): Promise<boolean> {
  return withTenant(db, scope.tenantId, async (tx) => {
    const rows = await tx
      .update(knowledgeSources)
      .set({ status: "ready", error: null, contentHash: hash, chunkCount: pieces.length, indexedAt: new Date(), updatedAt: new Date() })
      .where(and(eq(knowledgeSources.tenantId, scope.tenantId), eq(knowledgeSources.id, scope.sourceId)))
      .returning({ id: knowledgeSources.id });
    if (rows.length !== 1) return false;
    await tx.delete(knowledgeChunks).where(and(eq(knowledgeChunks.tenantId, scope.tenantId), eq(knowledgeChunks.sourceId, scope.sourceId)));
    for (let i = 0; i < pieces.length; i += CHUNK_ROWS_PER_INSERT) {
      await tx
        .insert(knowledgeChunks)
        .values(pieces.slice(i, i + CHUNK_ROWS_PER_INSERT).map((text, j) => ({ ...scope, chunkIndex: i + j, text })));
    }
    return true;
  });
}

/** Rows per INSERT of chunk text: well under PostgreSQL's 65,535 bind parameters (5 per row). */
const CHUNK_ROWS_PER_INSERT = 1000;

async function contentHash(bytes: Uint8Array, base: KnowledgeBase): Promise<string> {
  const settings = new TextEncoder().encode(JSON.stringify([base.embeddingModel, base.chunkSize, base.chunkOverlap]));
  const joined = new Uint8Array(settings.length + 1 + bytes.length);
  joined.set(settings);
  joined.set(bytes, settings.length + 1);
  const digest = await crypto.subtle.digest("SHA-256", joined);
  return Buffer.from(digest).toString("hex");
}

/** What a turn retrieves from: the agent's attached bases (all their ready sources) and single sources. */
export interface KnowledgeRequest {
  tenantId: string;
  /** Default: none. */
  knowledgeBaseIds?: string[];
  sourceIds: string[];
  query: string;
}

/**
 * The chunks of the agent's knowledge most relevant to `query`: per knowledge base (an attached
 * base with all of its ready sources, including ones added after it was attached, or the base of
 * a single attached source), its own top-k, score threshold and MMR, then merged by score. The
 * bases and sources come from the database under the tenant's row-level security, so an id of
 * another tenant finds nothing and reaches no collection.
 */
export async function retrieveKnowledge(
  deps: Pick<KnowledgeDependencies, "db" | "store" | "embeddingCredentials">,
  request: KnowledgeRequest,
): Promise<RetrievedChunk[]> {
  const baseIds = request.knowledgeBaseIds ?? [];
  if ((request.sourceIds.length === 0 && baseIds.length === 0) || !request.query.trim()) return [];
  const attached = [
    ...(request.sourceIds.length ? [inArray(knowledgeSources.id, request.sourceIds)] : []),
    ...(baseIds.length ? [inArray(knowledgeSources.knowledgeBaseId, baseIds)] : []),
  ];
  const rows = await withTenant(deps.db, request.tenantId, (tx) =>
    tx
      .select({
        source: { id: knowledgeSources.id, name: knowledgeSources.name, chunks: knowledgeSources.chunkCount },
        base: knowledgeBases,
      })
      .from(knowledgeSources)
      .innerJoin(knowledgeBases, eq(knowledgeBases.id, knowledgeSources.knowledgeBaseId))
      .where(
        and(
          eq(knowledgeSources.tenantId, request.tenantId),
          or(...attached),
          eq(knowledgeSources.status, "ready"),
          isNotNull(knowledgeSources.knowledgeBaseId),
        ),
      ),
  );
  // What part of each base's chunks the attached sources hold (the store's query picks between
  // Chroma's source pre-filter and asking for more nearest chunks from it): all of a whole base's,
  // and of a base reached only through single sources, theirs against its ready sources' total.
  const wholeBases = new Set(baseIds);
  const partialBaseIds = [...new Set(rows.map((row) => row.base.id))].filter((id) => !wholeBases.has(id));
  const readyChunks = new Map(
    partialBaseIds.length
      ? (
          await withTenant(deps.db, request.tenantId, (tx) =>
            tx
              .select({ baseId: knowledgeSources.knowledgeBaseId, chunks: sql<number>`sum(${knowledgeSources.chunkCount})::int` })
              .from(knowledgeSources)
              .where(
                and(
                  eq(knowledgeSources.tenantId, request.tenantId),
                  inArray(knowledgeSources.knowledgeBaseId, partialBaseIds),
                  eq(knowledgeSources.status, "ready"),
                ),
              )
              .groupBy(knowledgeSources.knowledgeBaseId),
          )
        ).map((row) => [row.baseId, row.chunks])
      : [],
  );
  const byBase = new Map<string, { base: KnowledgeBase; sources: Map<string, string>; chunks: number }>();
  for (const row of rows) {
    const entry = byBase.get(row.base.id) ?? { base: row.base, sources: new Map(), chunks: 0 };
    entry.sources.set(row.source.id, row.source.name);
    entry.chunks += row.source.chunks;
    byBase.set(row.base.id, entry);
  }
  const credentials = byBase.size ? await deps.embeddingCredentials(request.tenantId) : {};
  const vectors = new Map<string, number[]>();
  const found: RetrievedChunk[] = [];
  for (const { base, sources, chunks } of byBase.values()) {
    const total = wholeBases.has(base.id) ? chunks : (readyChunks.get(base.id) ?? chunks);
    let vector = vectors.get(base.embeddingModel);
    if (!vector) {
      vector = normalize(await createEmbeddings(base.embeddingModel, credentials).embedQuery(request.query));
      vectors.set(base.embeddingModel, vector);
    }
    const candidates = await deps.store.query(
      { tenantId: request.tenantId, knowledgeBaseId: base.id, sourceIds: [...sources.keys()] },
      vector,
      {
        nResults: base.mmr ? base.topK * 4 : base.topK,
        withEmbeddings: base.mmr,
        share: total > 0 ? chunks / total : 1,
      },
    );
    const passing = candidates.filter((hit) => hit.score >= base.scoreThreshold);
    const chosen = base.mmr ? maximalMarginalRelevance(vector, passing, base.topK) : passing.slice(0, base.topK);
    for (const hit of chosen) {
      found.push({
        chunkId: hit.id,
        sourceId: hit.sourceId,
        knowledgeBaseId: base.id,
        score: round(hit.score),
        text: hit.text,
        sourceName: sources.get(hit.sourceId) ?? "",
      });
    }
  }
  const limit = Math.max(0, ...[...byBase.values()].map((entry) => entry.base.topK));
  return found.sort((a, b) => b.score - a.score).slice(0, limit);
}

/**
 * MMR (λ = 0.5) with LangChain's implementation: each pick trades relevance to the query against
 * similarity to earlier picks. Hits without embeddings (none asked for) keep their order.
 */
export function maximalMarginalRelevance(query: number[], hits: ChunkHit[], k: number, lambda = 0.5): ChunkHit[] {
  const embeddings = hits.map((hit) => hit.embedding);
  if (hits.length === 0 || embeddings.some((embedding) => !embedding)) return hits.slice(0, k);
  return langchainMmr(query, embeddings as number[][], lambda, k).map((index) => hits[index]!);
}

const round = (value: number) => Math.round(value * 1e4) / 1e4;

export { knowledgePrompt, type RetrievedChunk } from "./prompt";
