import { and, eq, sql } from "drizzle-orm";
import { requireWithinPlan } from "../billing/limits";
import { z } from "zod";
import { knowledgeSources, type KnowledgeSource } from "../../db/schema";
import type { AccessContext } from "../access/context";
import { recordAudit } from "../access/audit";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { toBase64 } from "../crypto/encoding";
import { InvalidRequestError, NotFoundError } from "../errors";
import { refusedHost } from "../http/url-policy";
import { findBase } from "./admin";

/**
 * Admin verbs for the sources of a knowledge base (uploads and URLs). The edge stores a source as
 * `pending` and enqueues its job after the transaction commits; the pool parses, embeds and writes
 * it to Chroma (core/knowledge/service.ts).
 */

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
  await requireWithinPlan(ctx, "knowledgeMegabytes", { amount: sizeBytes / 1_000_000 });
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
