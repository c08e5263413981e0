import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { agents, knowledgeBases, type KnowledgeBase } from "../../db/schema";
import type { AccessContext } from "../access/context";
import { recordAudit } from "../access/audit";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODELS } from "./models";
import { ConflictError, InvalidRequestError, NotFoundError } from "../errors";

/**
 * Admin verbs for knowledge bases (module `knowledge`); their sources are in ./sources-admin.ts. Runtime-agnostic: the
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

/** The tenant's base, or NotFoundError (another tenant's id included). */
export async function findBase(ctx: AccessContext, knowledgeBaseId: string): Promise<KnowledgeBase> {
  const [row] = await ctx.tx
    .select()
    .from(knowledgeBases)
    .where(and(eq(knowledgeBases.tenantId, ctx.tenantId), eq(knowledgeBases.id, knowledgeBaseId)));
  if (!row) throw new NotFoundError("knowledge base");
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
