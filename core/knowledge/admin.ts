import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { agents, knowledgeBases, knowledgeSources, type KnowledgeBase, type KnowledgeSource } from "../../db/schema";
import type { AccessContext } from "../access/context";
import { recordAudit } from "../access/audit";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODELS } from "./models";
import { ConflictError, InvalidRequestError, NotFoundError } from "../errors";
import { toBase64 } from "../crypto/encoding";
import { refusedHost } from "../http/url-policy";

/**
 * Admin verbs for knowledge bases and their sources (module `knowledge`). Runtime-agnostic: the
 * edge runs them; parsing, embedding and Chroma happen in the pool's jobs (core/knowledge/service.ts),
 * which the caller enqueues after the transaction commits.
 */

const settings = {
  description: z.string().trim().max(1000),
  chunkSize: z.number().int().min(100).max(8000),
  chunkOverlap: z.number().int().min(0).max(4000),
  topK: z.number().int().min(1).max(20),
  scoreThreshold: z.number().min(0).max(1),
  mmr: z.boolean(),
};

export const createKnowledgeBaseInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    embeddingModel: z.enum(EMBEDDING_MODELS).default(DEFAULT_EMBEDDING_MODEL),
    description: settings.description.default(""),
    chunkSize: settings.chunkSize.default(1000),
    chunkOverlap: settings.chunkOverlap.default(150),
    topK: settings.topK.default(4),
    scoreThreshold: settings.scoreThreshold.default(0.1),
    mmr: settings.mmr.default(false),
  })
  .strict()
  .refine((input) => input.chunkOverlap < input.chunkSize, {
    path: ["chunkOverlap"],
    message: "chunkOverlap must be smaller than chunkSize",
  });

/** The embedding model is not here: it is fixed for the life of the base. */
export const updateKnowledgeBaseInput = z
  .object({ name: z.string().trim().min(1).max(100), ...settings })
  .partial()
  .strict()
  .refine((input) => Object.keys(input).length > 0, { message: "nothing to change" });

export const SOURCE_KINDS = ["text", "markdown", "html", "pdf", "docx", "csv", "url"] as const;
const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;

export const createSourceInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(SOURCE_KINDS),
    /** Text content (text, markdown, html, csv). */
    text: z.string().min(1).max(MAX_UPLOAD_BYTES).optional(),
    /** File bytes, base64 (any kind but url); at most 5 MiB decoded. */
    contentBase64: z
      .base64()
      .min(4)
      .max(Math.ceil(MAX_UPLOAD_BYTES / 3) * 4)
      .optional(),
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const given = [input.text, input.contentBase64, input.url].filter((value) => value !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: "custom", message: "give exactly one of text, contentBase64 or url" });
    if (input.kind === "url" && input.url === undefined) ctx.addIssue({ code: "custom", path: ["url"], message: "a url source needs url" });
    if (input.kind !== "url" && input.url !== undefined)
      ctx.addIssue({ code: "custom", path: ["kind"], message: "url is only for kind url" });
    if (input.text !== undefined && !["text", "markdown", "html", "csv"].includes(input.kind)) {
      ctx.addIssue({ code: "custom", path: ["text"], message: `a ${input.kind} source is binary: send contentBase64` });
    }
  });

export const knowledgeBaseDto = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  embeddingModel: z.string(),
  chunkSize: z.number().int(),
  chunkOverlap: z.number().int(),
  topK: z.number().int(),
  scoreThreshold: z.number(),
  mmr: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type KnowledgeBaseDto = z.infer<typeof knowledgeBaseDto>;

export const knowledgeSourceDto = z.object({
  id: z.uuid(),
  knowledgeBaseId: z.uuid(),
  name: z.string(),
  kind: z.enum(SOURCE_KINDS),
  uri: z.string().nullable(),
  status: z.enum(["pending", "indexing", "ready", "failed"]),
  error: z.string().nullable(),
  chunkCount: z.number().int(),
  sizeBytes: z.number().int(),
  contentHash: z.string().nullable(),
  indexedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type KnowledgeSourceDto = z.infer<typeof knowledgeSourceDto>;

const toBaseDto = (row: KnowledgeBase): KnowledgeBaseDto => ({
  id: row.id,
  name: row.name,
  description: row.description,
  embeddingModel: row.embeddingModel,
  chunkSize: row.chunkSize,
  chunkOverlap: row.chunkOverlap,
  topK: row.topK,
  scoreThreshold: row.scoreThreshold,
  mmr: row.mmr,
  createdAt: iso(row.createdAt)!,
  updatedAt: iso(row.updatedAt)!,
});

const toSourceDto = (row: KnowledgeSource): KnowledgeSourceDto => ({
  id: row.id,
  knowledgeBaseId: row.knowledgeBaseId!,
  name: row.name,
  kind: row.kind as KnowledgeSourceDto["kind"],
  uri: row.uri,
  status: row.status,
  error: row.error,
  chunkCount: row.chunkCount,
  sizeBytes: row.sizeBytes,
  contentHash: row.contentHash,
  indexedAt: iso(row.indexedAt),
  createdAt: iso(row.createdAt)!,
  updatedAt: iso(row.updatedAt)!,
});

async function findBase(ctx: AccessContext, knowledgeBaseId: string): Promise<KnowledgeBase> {
  const [row] = await ctx.tx
    .select()
    .from(knowledgeBases)
    .where(and(eq(knowledgeBases.tenantId, ctx.tenantId), eq(knowledgeBases.id, knowledgeBaseId)));
  if (!row) throw new NotFoundError("knowledge base");
  return row;
}

async function findSource(ctx: AccessContext, input: { knowledgeBaseId: string; sourceId: string }): Promise<KnowledgeSource> {
  const [row] = await ctx.tx
    .select()
    .from(knowledgeSources)
    .where(
      and(
        eq(knowledgeSources.tenantId, ctx.tenantId),
        eq(knowledgeSources.knowledgeBaseId, input.knowledgeBaseId),
        eq(knowledgeSources.id, input.sourceId),
      ),
    );
  if (!row) throw new NotFoundError("knowledge source");
  return row;
}

export async function listKnowledgeBases({ ctx, input }: { ctx: AccessContext; input: PageInput }): Promise<Page<KnowledgeBaseDto>> {
  requirePermission(ctx, "knowledge:read");
  const page = keyset(knowledgeBases, input);
  const rows = await ctx.tx
    .select({ base: knowledgeBases, id: knowledgeBases.id, cursorAt: page.cursorColumn })
    .from(knowledgeBases)
    .where(and(eq(knowledgeBases.tenantId, ctx.tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, (row) => toBaseDto(row.base));
}

export async function getKnowledgeBase({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: { knowledgeBaseId: string };
}): Promise<KnowledgeBaseDto> {
  requirePermission(ctx, "knowledge:read");
  return toBaseDto(await findBase(ctx, input.knowledgeBaseId));
}

export async function createKnowledgeBase({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof createKnowledgeBaseInput>;
}): Promise<KnowledgeBaseDto> {
  requirePermission(ctx, "knowledge:write");
  const [row] = await ctx.tx
    .insert(knowledgeBases)
    .values({ tenantId: ctx.tenantId, ...input })
    .returning();
  const dto = toBaseDto(row!);
  await recordAudit(ctx, { action: "knowledge_base.create", resourceType: "knowledge_base", resourceId: dto.id, after: dto });
  return dto;
}

export async function updateKnowledgeBase({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof updateKnowledgeBaseInput> & { knowledgeBaseId: string };
}): Promise<KnowledgeBaseDto> {
  requirePermission(ctx, "knowledge:write");
  const { knowledgeBaseId, ...changes } = input;
  const current = await findBase(ctx, knowledgeBaseId);
  if ((changes.chunkOverlap ?? current.chunkOverlap) >= (changes.chunkSize ?? current.chunkSize)) {
    throw new InvalidRequestError("chunkOverlap must be smaller than chunkSize");
  }
  const [row] = await ctx.tx
    .update(knowledgeBases)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(and(eq(knowledgeBases.tenantId, ctx.tenantId), eq(knowledgeBases.id, knowledgeBaseId)))
    .returning();
  const dto = toBaseDto(row!);
  await recordAudit(ctx, {
    action: "knowledge_base.update",
    resourceType: "knowledge_base",
    resourceId: dto.id,
    before: toBaseDto(current),
    after: dto,
  });
  return dto;
}

/**
 * Deletes the base and its sources; the caller enqueues `knowledge.delete_base` to drop its
 * collection. Refused while an agent answers from it: deleting would silently take knowledge away
 * from live conversations, so the base is detached from those agents first (a new agent version).
 */
export async function deleteKnowledgeBase({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: { knowledgeBaseId: string };
}): Promise<KnowledgeBaseDto> {
  requirePermission(ctx, "knowledge:delete");
  const current = await findBase(ctx, input.knowledgeBaseId);
  const users = await ctx.tx
    .select({ name: agents.name })
    .from(agents)
    .where(
      and(
        eq(agents.tenantId, ctx.tenantId),
        isNull(agents.deletedAt),
        sql`${agents.knowledgeBaseIds} @> ${JSON.stringify([current.id])}::jsonb`,
      ),
    )
    .limit(6);
  if (users.length) {
    const names = users
      .slice(0, 5)
      .map((agent) => agent.name)
      .join(", ");
    throw new ConflictError(
      `The knowledge base is attached to agents (${names}${users.length > 5 ? ", …" : ""}); detach it from them first.`,
    );
  }
  await ctx.tx.delete(knowledgeBases).where(and(eq(knowledgeBases.tenantId, ctx.tenantId), eq(knowledgeBases.id, current.id)));
  const dto = toBaseDto(current);
  await recordAudit(ctx, { action: "knowledge_base.delete", resourceType: "knowledge_base", resourceId: dto.id, before: dto });
  return dto;
}

export async function listKnowledgeSources({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: PageInput & { knowledgeBaseId: string };
}): Promise<Page<KnowledgeSourceDto>> {
  requirePermission(ctx, "knowledge:read");
  await findBase(ctx, input.knowledgeBaseId);
  const page = keyset(knowledgeSources, input);
  const rows = await ctx.tx
    .select({ source: knowledgeSources, id: knowledgeSources.id, cursorAt: page.cursorColumn })
    .from(knowledgeSources)
    .where(and(eq(knowledgeSources.tenantId, ctx.tenantId), eq(knowledgeSources.knowledgeBaseId, input.knowledgeBaseId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, (row) => toSourceDto(row.source));
}

export async function getKnowledgeSource({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: { knowledgeBaseId: string; sourceId: string };
}): Promise<KnowledgeSourceDto> {
  requirePermission(ctx, "knowledge:read");
  return toSourceDto(await findSource(ctx, input));
}

/** Stores the upload (or URL) as `pending`; the caller enqueues `knowledge.ingest` after commit. */
export async function addKnowledgeSource({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof createSourceInput> & { knowledgeBaseId: string };
}): Promise<KnowledgeSourceDto> {
  requirePermission(ctx, "knowledge:write");
  const base = await findBase(ctx, input.knowledgeBaseId);
  let body: string | null = null;
  let sizeBytes = 0;
  if (input.text !== undefined) {
    const bytes = new TextEncoder().encode(input.text);
    sizeBytes = bytes.length;
    body = toBase64(bytes);
  } else if (input.contentBase64 !== undefined) {
    body = input.contentBase64;
    sizeBytes = Math.floor((body.length * 3) / 4) - (body.endsWith("==") ? 2 : body.endsWith("=") ? 1 : 0);
  } else if (input.url !== undefined && refusedHost(new URL(input.url).hostname)) {
    // A first, literal-only check (the edge cannot resolve names) with the SSRF module's rules; the
    // pool's fetcher checks every resolved address again (core/knowledge/url-fetch.ts).
    throw new InvalidRequestError("The URL points to a private or local address, which is not allowed.");
  }
  const [row] = await ctx.tx
    .insert(knowledgeSources)
    .values({
      tenantId: ctx.tenantId,
      knowledgeBaseId: base.id,
      name: input.name,
      kind: input.kind,
      uri: input.url ?? null,
      body,
      sizeBytes,
      status: "pending",
    })
    .returning();
  const dto = toSourceDto(row!);
  await recordAudit(ctx, { action: "knowledge_source.create", resourceType: "knowledge_source", resourceId: dto.id, after: dto });
  return dto;
}

/** Back to `pending` for another ingest job; unchanged content is then a no-op in the job. */
export async function resyncKnowledgeSource({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: { knowledgeBaseId: string; sourceId: string };
}): Promise<KnowledgeSourceDto> {
  requirePermission(ctx, "knowledge:write");
  const current = await findSource(ctx, input);
  // A ready source stays ready while the job checks its hash: retrieval keeps using it meanwhile.
  const [row] = await ctx.tx
    .update(knowledgeSources)
    .set({ status: current.status === "ready" ? "ready" : "pending", error: null, updatedAt: sql`now()` })
    .where(and(eq(knowledgeSources.tenantId, ctx.tenantId), eq(knowledgeSources.id, current.id)))
    .returning();
  const dto = toSourceDto(row!);
  await recordAudit(ctx, {
    action: "knowledge_source.resync",
    resourceType: "knowledge_source",
    resourceId: dto.id,
    before: toSourceDto(current),
    after: dto,
  });
  return dto;
}

/** Deletes the row (retrieval stops using it at once); the caller enqueues `knowledge.delete_source` for the chunks. */
export async function deleteKnowledgeSource({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: { knowledgeBaseId: string; sourceId: string };
}): Promise<KnowledgeSourceDto> {
  requirePermission(ctx, "knowledge:delete");
  const current = await findSource(ctx, input);
  await ctx.tx.delete(knowledgeSources).where(and(eq(knowledgeSources.tenantId, ctx.tenantId), eq(knowledgeSources.id, current.id)));
  const dto = toSourceDto(current);
  await recordAudit(ctx, { action: "knowledge_source.delete", resourceType: "knowledge_source", resourceId: dto.id, before: dto });
  return dto;
}
