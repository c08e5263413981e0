import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { conversations, knowledgeSources, messages, usageRecords, type RetrievedChunkRecord } from "../../db/schema";
import type { AccessContext } from "../access/context";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { NotFoundError } from "../errors";

export const citationDto = z.object({
  /** The excerpt number the prompt gave the chunk (`[n]` in the reply). */
  n: z.number().int(),
  chunkId: z.string(),
  sourceId: z.uuid(),
  knowledgeBaseId: z.uuid(),
  /** Null when the source was deleted since. */
  sourceName: z.string().nullable(),
  score: z.number(),
});

export const conversationMessageDto = z.object({
  id: z.uuid(),
  direction: z.enum(["inbound", "outbound"]),
  status: z.string(),
  content: z.string(),
  replyToMessageId: z.uuid().nullable(),
  createdAt: z.string(),
  /** The excerpts the reply cites as `[n]`. */
  citations: z.array(citationDto),
  /** Every excerpt its turn put in the prompt, cited or not (what the model was shown). */
  retrieved: z.array(citationDto.extend({ cited: z.boolean() })),
  /** For an agent's reply: the model that answered, what the turn cost and took, and the tools it called; null otherwise. */
  turn: z
    .object({
      provider: z.string(),
      model: z.string(),
      inputTokens: z.number().int(),
      outputTokens: z.number().int(),
      costUsd: z.number(),
      latencyMs: z.number().int(),
      toolCalls: z.array(z.object({ name: z.string(), ok: z.boolean(), outcome: z.string().nullable() })),
    })
    .nullable(),
});
export type ConversationMessageDto = z.infer<typeof conversationMessageDto>;

/**
 * A conversation's messages, newest first. Each reply carries the knowledge chunks its turn put in
 * the prompt (stored on its usage record) as `retrieved`, numbered as the prompt numbered them, and
 * those the reply cites as `[n]` as `citations`, and its `turn`: model, tokens, cost, latency and
 * tool calls (the console's playground and inbox show them). Records from before citations were
 * tracked count every retrieved chunk as cited.
 */
export async function listConversationMessages({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: PageInput & { conversationId: string };
}): Promise<Page<ConversationMessageDto>> {
  requirePermission(ctx, "agents:read");
  const [conversation] = await ctx.tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.tenantId, ctx.tenantId), eq(conversations.id, input.conversationId)));
  if (!conversation) throw new NotFoundError("conversation");
  const page = keyset(messages, input);
  const rows = await ctx.tx
    .select({ message: messages, id: messages.id, cursorAt: page.cursorColumn, usage: usageRecords })
    .from(messages)
    .leftJoin(usageRecords, and(eq(usageRecords.tenantId, ctx.tenantId), eq(usageRecords.messageId, messages.id)))
    .where(and(eq(messages.tenantId, ctx.tenantId), eq(messages.conversationId, conversation.id), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  const sourceIds = [...new Set(rows.flatMap((row) => (row.usage?.retrievedChunks ?? []).map((chunk) => chunk.sourceId)))];
  const names = new Map(
    sourceIds.length
      ? (
          await ctx.tx
            .select({ id: knowledgeSources.id, name: knowledgeSources.name })
            .from(knowledgeSources)
            .where(and(eq(knowledgeSources.tenantId, ctx.tenantId), inArray(knowledgeSources.id, sourceIds)))
        ).map((row) => [row.id, row.name])
      : [],
  );
  return page.page(rows, (row) => ({
    id: row.message.id,
    direction: row.message.direction,
    status: row.message.status,
    content: row.message.content,
    replyToMessageId: row.message.replyToMessageId,
    createdAt: iso(row.message.createdAt)!,
    ...citationsOf(row.usage?.retrievedChunks ?? [], names),
    turn: row.usage
      ? {
          provider: row.usage.provider,
          model: row.usage.model,
          inputTokens: row.usage.inputTokens,
          outputTokens: row.usage.outputTokens,
          costUsd: row.usage.costNanoUsd / 1e9,
          latencyMs: row.usage.latencyMs,
          // Names and outcomes only: arguments stay in the usage record (masked) and out of lists.
          toolCalls: row.usage.toolCalls.map((call) => ({ name: call.name, ok: call.ok, outcome: call.outcome ?? null })),
        }
      : null,
  }));
}

function citationsOf(chunks: RetrievedChunkRecord[], names: Map<string, string>): Pick<ConversationMessageDto, "citations" | "retrieved"> {
  const retrieved = chunks.map((chunk, i) => ({
    n: chunk.n ?? i + 1,
    chunkId: chunk.chunkId,
    sourceId: chunk.sourceId,
    knowledgeBaseId: chunk.knowledgeBaseId,
    sourceName: names.get(chunk.sourceId) ?? null,
    score: chunk.score,
    cited: chunk.cited ?? true,
  }));
  return { retrieved, citations: retrieved.filter((chunk) => chunk.cited).map(({ cited: _cited, ...citation }) => citation) };
}
