import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { channels, conversations, messages, type ChannelKind } from "../../db/schema";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { recordAudit } from "../access/audit";
import { actorLabel, type DomainContext } from "./context";
import { parseOrThrow } from "./input";
import { DomainError } from "../errors";

export const conversationSummaryDto = z.object({
  id: z.uuid(),
  channelId: z.uuid(),
  channelKind: z.string(),
  channelName: z.string(),
  agentId: z.uuid(),
  /** The channel's own key for the thread: Telegram chat id, WhatsApp number, web chat session. */
  externalKey: z.string(),
  status: z.enum(["open", "handed_off", "closed"]),
  handedOffAt: z.string().nullable(),
  createdAt: z.string(),
  lastMessageAt: z.string(),
  /** The newest message, shortened: what an inbox shows under the name. */
  lastMessage: z
    .object({ direction: z.enum(["inbound", "outbound"]), status: z.string(), preview: z.string(), createdAt: z.string() })
    .nullable(),
});
export type ConversationSummaryDto = z.infer<typeof conversationSummaryDto>;

export const listConversationsInput = z.object({
  limit: z.number().int().min(1).max(100).optional(),
  cursor: z.string().max(512).optional(),
  /** `handed_off`: the conversations waiting for a person. */
  status: z.enum(["open", "handed_off", "closed"]).optional(),
  channelId: z.uuid().optional(),
});

const PREVIEW_CHARS = 160;

/**
 * The tenant's conversations, most recently active first (an inbox): filter by status (e.g. the
 * ones handed to a person) and channel; each with its channel and a preview of its newest
 * message. Scoped by the tenant in every query (and by row-level security under it).
 */
export async function listConversations({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: PageInput & z.input<typeof listConversationsInput>;
}): Promise<Page<ConversationSummaryDto>> {
  requirePermission(ctx, "agents:read");
  const filters = listConversationsInput.parse(input);
  const page = keyset({ createdAt: conversations.lastMessageAt, id: conversations.id }, filters);
  const rows = await ctx.tx
    .select({
      conversation: conversations,
      channel: { kind: channels.kind, name: channels.name },
      id: conversations.id,
      cursorAt: page.cursorColumn,
    })
    .from(conversations)
    .innerJoin(channels, and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, conversations.channelId)))
    .where(
      and(
        eq(conversations.tenantId, ctx.tenantId),
        filters.status ? eq(conversations.status, filters.status) : undefined,
        filters.channelId ? eq(conversations.channelId, filters.channelId) : undefined,
        page.after,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  const ids = rows.map((row) => row.id);
  // The newest message of each conversation on the page, in one query.
  const latest = new Map(
    ids.length
      ? (
          await ctx.tx
            .selectDistinctOn([messages.conversationId], {
              conversationId: messages.conversationId,
              direction: messages.direction,
              status: messages.status,
              content: messages.content,
              createdAt: messages.createdAt,
            })
            .from(messages)
            .where(and(eq(messages.tenantId, ctx.tenantId), inArray(messages.conversationId, ids), sql`${messages.status} <> 'covered'`))
            .orderBy(messages.conversationId, desc(messages.createdAt))
        ).map((row) => [row.conversationId, row])
      : [],
  );
  return page.page(rows, (row) => {
    const last = latest.get(row.id);
    return {
      id: row.conversation.id,
      channelId: row.conversation.channelId,
      channelKind: row.channel.kind,
      channelName: row.channel.name,
      agentId: row.conversation.agentId,
      externalKey: row.conversation.externalKey,
      status: row.conversation.status,
      handedOffAt: iso(row.conversation.handedOffAt),
      createdAt: iso(row.conversation.createdAt)!,
      lastMessageAt: iso(row.conversation.lastMessageAt)!,
      lastMessage: last
        ? {
            direction: last.direction,
            status: last.status,
            preview: last.content.length > PREVIEW_CHARS ? `${last.content.slice(0, PREVIEW_CHARS - 1)}…` : last.content,
            createdAt: iso(last.createdAt)!,
          }
        : null,
    };
  });
}

export const operatorMessageInput = z.object({
  conversationId: z.uuid(),
  text: z.string().trim().min(1).max(4000),
});

export const operatorMessageDto = z.object({
  id: z.uuid(),
  conversationId: z.uuid(),
  status: z.string(),
  content: z.string(),
  createdAt: z.string(),
});
export type OperatorMessageDto = z.infer<typeof operatorMessageDto>;

/**
 * Records a message a person writes to a conversation from the console (`pending`, audited); the
 * caller queues it for the pool, which sends it through the channel like a reply. Meant for
 * handed-off conversations, but allowed on any: an operator may step in. Refused on a paused
 * channel (409), where nothing is sent.
 */
export async function recordOperatorMessage({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: z.input<typeof operatorMessageInput>;
}): Promise<{ message: OperatorMessageDto; conversation: { externalKey: string; channelId: string; channelKind: ChannelKind } }> {
  requirePermission(ctx, "agents:write");
  const { conversationId, text } = parseOrThrow(operatorMessageInput, input, {
    code: "INVALID_MESSAGE",
    message: "the message is not valid",
  });
  const [found] = await ctx.tx
    .select({ conversation: conversations, channel: { id: channels.id, kind: channels.kind, status: channels.status } })
    .from(conversations)
    .innerJoin(channels, and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, conversations.channelId)))
    .where(and(eq(conversations.tenantId, ctx.tenantId), eq(conversations.id, conversationId)));
  if (!found) throw new DomainError("CONVERSATION_NOT_FOUND", 404, "conversation not found");
  if (found.channel.status === "paused") throw new DomainError("CHANNEL_PAUSED", 409, "the channel is paused; resume it to send");
  const [row] = await ctx.tx
    .insert(messages)
    .values({
      tenantId: ctx.tenantId,
      conversationId: found.conversation.id,
      channelId: found.channel.id,
      direction: "outbound",
      status: "pending",
      content: text,
      sender: { id: actorLabel(ctx.actor), operator: true },
    })
    .returning();
  await recordAudit(ctx, {
    action: "conversation.message",
    resourceType: "conversation",
    resourceId: found.conversation.id,
    after: { messageId: row!.id },
  });
  return {
    message: {
      id: row!.id,
      conversationId: row!.conversationId,
      status: row!.status,
      content: row!.content,
      createdAt: iso(row!.createdAt)!,
    },
    conversation: { externalKey: found.conversation.externalKey, channelId: found.channel.id, channelKind: found.channel.kind },
  };
}

/** The operator message could not be queued: recorded as failed, so it is neither sent later nor left pending. */
export async function failOperatorMessage({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { messageId: string; reason: string };
}): Promise<void> {
  requirePermission(ctx, "agents:write");
  await ctx.tx
    .update(messages)
    .set({ status: "failed", error: input.reason.slice(0, 500) })
    .where(and(eq(messages.tenantId, ctx.tenantId), eq(messages.id, input.messageId), eq(messages.status, "pending")));
}
