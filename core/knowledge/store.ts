import { ChromaClient, type Collection, type Where } from "chromadb";
import { whileBusy } from "../batch";

/** One stored chunk as retrieval returns it. */
export interface ChunkHit {
  id: string;
  sourceId: string;
  knowledgeBaseId: string;
  chunkIndex: number;
  text: string;
  /** Cosine similarity, 0..1 (vectors are unit length; Chroma's squared L2 d gives 1 - d/2). */
  score: number;
  embedding?: number[];
}

/** One answered turn in conversation memory, keyed by the inbound message. */
export interface RememberedTurn {
  tenantId: string;
  endUser: string;
  conversationId: string;
  messageId: string;
  text: string;
  at: Date;
  embedding: number[];
}

export interface ChunkToStore {
  id: string;
  text: string;
  embedding: number[];
  chunkIndex: number;
}

/**
 * Where chunks live: one Chroma collection per (tenant, knowledge base), named from both ids
 * (`kb_<tenant hex>_<base hex>`, UUIDs only), which is stricter than one per tenant and keeps each
 * base's embedding dimensions apart. Every chunk also carries `tenant_id`, `knowledge_base_id` and
 * `source_id` metadata: deletes filter on all three, and queries check them on every hit, so a
 * chunk can only come back from the collection of the tenant and base the caller passed, which the
 * pool takes from database rows (under row-level security), never from a request.
 */
export class KnowledgeStore {
  private readonly collections = new Map<string, Promise<Collection>>();
  /** Per collection: the coalesced source writes of `replaceSourceChunks`. */
  private readonly sourceWrites = new Map<string, (source: SourceChunks) => Promise<void>>();

  constructor(private readonly client: ChromaClient) {}

  static connect(url: string): KnowledgeStore {
    const parsed = new URL(url);
    return new KnowledgeStore(
      new ChromaClient({ host: parsed.hostname, port: Number(parsed.port || 8000), ssl: parsed.protocol === "https:" }),
    );
  }

  private collection(tenantId: string, knowledgeBaseId: string): Promise<Collection> {
    const name = collectionName(tenantId, knowledgeBaseId);
    let found = this.collections.get(name);
    if (!found) {
      found = this.client.getOrCreateCollection({
        name,
        embeddingFunction: null,
        metadata: { tenant_id: tenantId, knowledge_base_id: knowledgeBaseId },
      });
      found.catch(() => this.collections.delete(name));
      this.collections.set(name, found);
    }
    return found;
  }

  /**
   * Replaces a source's chunks with these (delete first, so a shorter document leaves no tail
   * behind). Chroma serialises writes to a collection and each costs tens of milliseconds whatever
   * its size, so the sources written to one collection while a write runs go together in the next
   * (`whileBusy`): one delete and one upsert per slice for all of them. A write that fails rejects
   * every source in it (their jobs retry).
   */
  async replaceSourceChunks(scope: { tenantId: string; knowledgeBaseId: string; sourceId: string }, chunks: ChunkToStore[]): Promise<void> {
    const name = collectionName(scope.tenantId, scope.knowledgeBaseId);
    let write = this.sourceWrites.get(name);
    if (!write) {
      const base = { tenantId: scope.tenantId, knowledgeBaseId: scope.knowledgeBaseId };
      write = whileBusy((sources: SourceChunks[]) => this.writeSources(base, sources), { max: SOURCES_PER_WRITE });
      this.sourceWrites.set(name, write);
    }
    await write({ sourceId: scope.sourceId, chunks });
  }

  private async writeSources(scope: { tenantId: string; knowledgeBaseId: string }, sources: SourceChunks[]): Promise<void> {
    const collection = await this.collection(scope.tenantId, scope.knowledgeBaseId);
    // Two writes of one source in a batch: the later wins, as if they had run one after the other.
    const latest = new Map(sources.map((source) => [source.sourceId, source.chunks]));
    await collection.delete({ where: scoped(scope, { source_id: { $in: [...latest.keys()] } }) });
    await this.putChunks(
      collection,
      scope,
      [...latest].flatMap(([sourceId, chunks]) => chunks.map((chunk) => ({ ...chunk, sourceId }))),
      "upsert",
    );
  }

  /** Appends chunks of one source without removing its others (bulk loads; jobs use replaceSourceChunks). */
  async appendSourceChunks(scope: { tenantId: string; knowledgeBaseId: string; sourceId: string }, chunks: ChunkToStore[]): Promise<void> {
    const collection = await this.collection(scope.tenantId, scope.knowledgeBaseId);
    await this.putChunks(
      collection,
      scope,
      chunks.map((chunk) => ({ ...chunk, sourceId: scope.sourceId })),
      "add",
    );
  }

  private async putChunks(
    collection: Collection,
    scope: { tenantId: string; knowledgeBaseId: string },
    chunks: Array<ChunkToStore & { sourceId: string }>,
    verb: "add" | "upsert",
  ): Promise<void> {
    for (let i = 0; i < chunks.length; i += BATCH) {
      const batch = chunks.slice(i, i + BATCH);
      await collection[verb]({
        ids: batch.map((chunk) => chunk.id),
        embeddings: batch.map((chunk) => chunk.embedding),
        documents: batch.map((chunk) => chunk.text),
        metadatas: batch.map((chunk) => ({
          tenant_id: scope.tenantId,
          knowledge_base_id: scope.knowledgeBaseId,
          source_id: chunk.sourceId,
          chunk_index: chunk.chunkIndex,
        })),
      });
    }
  }

  async deleteSourceChunks(scope: { tenantId: string; knowledgeBaseId: string; sourceId: string }): Promise<void> {
    const collection = await this.collection(scope.tenantId, scope.knowledgeBaseId);
    await collection.delete({ where: scoped(scope, { source_id: scope.sourceId }) });
  }

  async dropKnowledgeBase(scope: { tenantId: string; knowledgeBaseId: string }): Promise<void> {
    await this.dropCollection(collectionName(scope.tenantId, scope.knowledgeBaseId));
  }

  /** Drops the tenant's conversation memory collection (a purged tenant: core/tenants/deletion.ts). */
  async dropMemory(tenantId: string): Promise<void> {
    await this.dropCollection(memoryCollectionName(tenantId));
  }

  /** Forgets the cached handle and deletes the collection; one already gone is not an error. */
  private async dropCollection(name: string): Promise<void> {
    this.collections.delete(name);
    await this.client.deleteCollection({ name }).catch((error: unknown) => {
      const { name: kind, message } = (error ?? {}) as Error;
      if (kind !== "ChromaNotFoundError" && !/not (be )?found|does not exist/i.test(String(message))) throw error;
    });
  }

  /**
   * Conversation memory: one document per answered turn (id = the inbound message id, so a retried
   * turn overwrites itself), tagged with the tenant and the end user (`channel:sender`).
   */
  async rememberTurn(turn: RememberedTurn): Promise<void> {
    await this.rememberTurns(turn.tenantId, [turn]);
  }

  /** Several turns of one tenant in one upsert per batch (`npm run reindex` rebuilding memory from messages). */
  async rememberTurns(tenantId: string, turns: RememberedTurn[]): Promise<void> {
    const collection = await this.memoryCollection(tenantId);
    for (let i = 0; i < turns.length; i += BATCH) {
      const batch = turns.slice(i, i + BATCH);
      if (batch.some((turn) => turn.tenantId !== tenantId)) throw new Error("rememberTurns: every turn must be of the tenant given");
      await collection.upsert({
        ids: batch.map((turn) => turn.messageId),
        embeddings: batch.map((turn) => turn.embedding),
        documents: batch.map((turn) => turn.text),
        metadatas: batch.map((turn) => ({
          tenant_id: tenantId,
          end_user: turn.endUser,
          conversation_id: turn.conversationId,
          at: turn.at.getTime(),
        })),
      });
    }
  }

  /** Deletes remembered turns of these end users and of these conversations (an erased end user: core/contacts/contacts.ts). */
  async forgetTurns(scope: { tenantId: string; endUsers: string[]; conversationIds: string[] }): Promise<void> {
    if (scope.endUsers.length === 0 && scope.conversationIds.length === 0) return;
    const collection = await this.memoryCollection(scope.tenantId);
    const which = [
      ...(scope.endUsers.length ? [{ end_user: { $in: scope.endUsers } }] : []),
      ...(scope.conversationIds.length ? [{ conversation_id: { $in: scope.conversationIds } }] : []),
    ];
    await collection.delete({
      where: { $and: [{ tenant_id: scope.tenantId }, which.length === 1 ? which[0]! : { $or: which }] } as Where,
    });
  }

  /** Deletes remembered turns from before `cutoff` (the tenant's retention policy: core/tenants/retention.ts). */
  async forgetTurnsBefore(tenantId: string, cutoff: Date): Promise<void> {
    const collection = await this.memoryCollection(tenantId);
    await collection.delete({ where: { $and: [{ tenant_id: tenantId }, { at: { $lt: cutoff.getTime() } }] } as Where });
  }

  /** The end user's past turns most similar to the embedding, within [after, before). */
  async recallTurns(
    request: { tenantId: string; endUser: string; after?: Date | null; before: Date; k: number; minScore: number },
    embedding: number[],
  ): Promise<RecalledTurn[]> {
    const collection = await this.memoryCollection(request.tenantId);
    const ms = (date: Date) => date.getTime();
    const where = {
      $and: [
        { tenant_id: request.tenantId },
        { end_user: request.endUser },
        { at: { $lt: ms(request.before) } },
        ...(request.after ? [{ at: { $gte: ms(request.after) } }] : []),
      ],
    } as Where;
    const result = await collection.query({
      queryEmbeddings: [embedding],
      nResults: request.k,
      where,
      include: ["documents", "metadatas", "distances"],
    });
    return (result.ids[0] ?? [])
      .map((_, i) => ({
        text: result.documents[0]?.[i] ?? "",
        at: new Date(Number(result.metadatas[0]?.[i]?.at ?? 0)),
        score: Math.max(0, 1 - (result.distances?.[0]?.[i] ?? 2) / 2),
      }))
      .filter((turn) => turn.score >= request.minScore);
  }

  private memoryCollection(tenantId: string): Promise<Collection> {
    const name = memoryCollectionName(tenantId);
    let found = this.collections.get(name);
    if (!found) {
      found = this.client.getOrCreateCollection({ name, embeddingFunction: null, metadata: { tenant_id: tenantId, kind: "memory" } });
      found.catch(() => this.collections.delete(name));
      this.collections.set(name, found);
    }
    return found;
  }

  async countChunks(scope: { tenantId: string; knowledgeBaseId: string }): Promise<number> {
    return (await this.collection(scope.tenantId, scope.knowledgeBaseId)).count();
  }

  /**
   * Nearest chunks of one base, limited to `sourceIds` (the sources that still exist, are ready and
   * are attached). The collection is the tenant's and the base's by name; every hit's own tenant,
   * base and source metadata is checked again before it is returned.
   *
   * `share` is the part of the base's chunks that belong to `sourceIds` (1 when they are all of its
   * ready sources). Chroma's `source_id` pre-filter costs time in proportion to the collection, not
   * to what it matches (about 55 ms at 100,000 chunks, `npm run bench:rag`), while a query without
   * it costs a few milliseconds. So when the sources hold enough of the base that the top
   * `nResults` of theirs are expected among the nearest {@link MAX_OVERFETCH}, the query asks for
   * that many nearest chunks of the whole base (three times the expected need) and keeps the
   * sources' ones; when that still finds too few, or `share` is small or unknown, it pre-filters.
   */
  async query(
    scope: { tenantId: string; knowledgeBaseId: string; sourceIds: string[] },
    embedding: number[],
    options: { nResults: number; withEmbeddings?: boolean; share?: number },
  ): Promise<ChunkHit[]> {
    if (scope.sourceIds.length === 0) return [];
    const collection = await this.collection(scope.tenantId, scope.knowledgeBaseId);
    const include: QueryInclude = options.withEmbeddings
      ? ["documents", "metadatas", "distances", "embeddings"]
      : ["documents", "metadatas", "distances"];
    const share = Math.min(1, options.share ?? 0);
    const nearest = share > 0 ? Math.ceil((options.nResults * 3) / share) : Number.POSITIVE_INFINITY;
    if (nearest <= MAX_OVERFETCH) {
      const result = await collection.query({ queryEmbeddings: [embedding], nResults: nearest, include });
      const hits = chunkHits(scope, result);
      // Enough of the sources' chunks, or all there is (the collection holds fewer than asked for).
      if (hits.length >= options.nResults || (result.ids[0]?.length ?? 0) < nearest) return hits.slice(0, options.nResults);
    }
    const result = await collection.query({
      queryEmbeddings: [embedding],
      nResults: options.nResults,
      where: { source_id: { $in: scope.sourceIds } } as Where,
      include,
    });
    return chunkHits(scope, result).slice(0, options.nResults);
  }
}

type QueryInclude = NonNullable<Parameters<Collection["query"]>[0]>["include"];

/** At most this many nearest chunks are asked for instead of Chroma's source pre-filter. */
const MAX_OVERFETCH = 256;

/** A query's results as hits, keeping only the scope's tenant, base and sources. */
function chunkHits(
  scope: { tenantId: string; knowledgeBaseId: string; sourceIds: string[] },
  result: Awaited<ReturnType<Collection["query"]>>,
): ChunkHit[] {
  const allowed = new Set(scope.sourceIds);
  const hits: ChunkHit[] = [];
  (result.ids[0] ?? []).forEach((id, i) => {
    const metadata = result.metadatas[0]?.[i] ?? {};
    if (metadata?.tenant_id !== scope.tenantId || metadata?.knowledge_base_id !== scope.knowledgeBaseId) return;
    if (!allowed.has(String(metadata?.source_id))) return;
    const distance = result.distances?.[0]?.[i] ?? 2;
    const embeddingOut = result.embeddings?.[0]?.[i];
    hits.push({
      id,
      sourceId: String(metadata.source_id),
      knowledgeBaseId: scope.knowledgeBaseId,
      chunkIndex: Number(metadata.chunk_index ?? 0),
      text: result.documents[0]?.[i] ?? "",
      score: Math.max(0, Math.min(1, 1 - distance / 2)),
      ...(embeddingOut ? { embedding: Array.from(embeddingOut) } : {}),
    });
  });
  return hits;
}

/** A past turn of an end user, recalled from conversation memory. */
export interface RecalledTurn {
  text: string;
  at: Date;
  score: number;
}

const BATCH = 256;
/** Sources one coalesced write replaces at most (its chunks still go in slices of BATCH). */
const SOURCES_PER_WRITE = 32;

interface SourceChunks {
  sourceId: string;
  chunks: ChunkToStore[];
}

/** The tenant's conversation-memory collection: `mem_<tenant hex>`, apart from its knowledge bases. */
export function memoryCollectionName(tenantId: string): string {
  return `mem_${uuidHex(tenantId)}`;
}

export function collectionName(tenantId: string, knowledgeBaseId: string): string {
  return `kb_${uuidHex(tenantId)}_${uuidHex(knowledgeBaseId)}`;
}

function uuidHex(id: string): string {
  const clean = id.toLowerCase().replace(/-/g, "");
  if (!/^[0-9a-f]{32}$/.test(clean)) throw new Error("collection names are built from UUIDs only");
  return clean;
}

function scoped(scope: { tenantId: string; knowledgeBaseId: string }, extra: Where): Where {
  return { $and: [{ tenant_id: scope.tenantId }, { knowledge_base_id: scope.knowledgeBaseId }, extra] } as Where;
}
