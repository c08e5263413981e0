import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { analyticsEndUsersHourly, channels, conversations, messages } from "../../db/schema";
import { recordAudit } from "../access/audit";
import type { AccessContext } from "../access/context";
import { requirePermission } from "../access/permissions";
import { sha256Hex } from "../crypto/hmac";
import { DomainError } from "../errors";

/**
 * An end user ("contact") as the channels know them: the sender id their messages carry (a WhatsApp
 * number, a Telegram user id, an email address, a web chat visitor id). A phone number may be
 * written `+1 (202) 555-0143`: WhatsApp's ids are its digits. Email addresses compare in lower case.
 */
export const contactInput = z.object({
  identity: z.string().trim().min(1).max(256),
  /** Only this channel's conversations; default: every channel of the tenant. */
  channelId: z.uuid().optional(),
});
export type ContactInput = z.infer<typeof contactInput>;

/** The sender ids an identity stands for on the channels (the phone number's digits too). */
export function senderIdsOf(identity: string): string[] {
  const trimmed = identity.trim();
  const ids = new Set([trimmed]);
  if (trimmed.includes("@")) ids.add(trimmed.toLowerCase());
  if (/^\+?[\d\s().-]{6,}$/.test(trimmed)) ids.add(trimmed.replace(/\D/g, ""));
  return [...ids];
}

/** The most messages one export answers with; the rest is named by `truncated`. */
export const MAX_EXPORT_MESSAGES = 20_000;

export interface ContactExport {
  identity: string;
  exportedAt: string;
  conversations: Array<{
    id: string;
    channel: { id: string; kind: string; name: string };
    status: string;
    createdAt: string;
    lastMessageAt: string;
    messages: Array<{ id: string; direction: string; content: string; status: string; deliveryStatus: string | null; createdAt: string }>;
  }>;
  messageCount: number;
  truncated: boolean;
}

/**
 * Everything the tenant holds about one end user (an access request under GDPR art. 15): every
 * conversation they wrote in, with every message of it in order; of a conversation others wrote in
 * too (a group chat), only their messages and the replies to them. Memory vectors are derived from
 * these messages and hold nothing else. Audited (by a hash of the identity: the log never repeats
 * it). 404 when the tenant has nothing of theirs, another tenant's included.
 */
export async function exportContact({ ctx, input }: { ctx: AccessContext; input: ContactInput }): Promise<ContactExport> {
  requirePermission(ctx, "contacts:read");
  const { identity, channelId } = contactInput.parse(input);
  const found = await conversationsOf(ctx, identity, channelId);
  if (found.length === 0) throw new DomainError("NOT_FOUND", 404, "No conversation with this identity.");
  const rows = await ctx.tx
    .select({ conversation: conversations, channel: { id: channels.id, kind: channels.kind, name: channels.name } })
    .from(conversations)
    .innerJoin(channels, and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, conversations.channelId)))
    .where(
      and(
        eq(conversations.tenantId, ctx.tenantId),
        inArray(
          conversations.id,
          found.map((row) => row.conversationId),
        ),
      ),
    )
    .orderBy(asc(conversations.createdAt));
  const senderIds = senderIdsOf(identity);
  const shared = [
    ...(await sharedConversations(
      ctx,
      found.map((row) => row.conversationId),
      senderIds,
    )),
  ];
  // In a conversation others wrote in too, only their messages and the replies to them are theirs.
  const theirs = sql`(${messages.direction} = 'inbound' and ${messages.sender}->>'id' in ${senderIds})`;
  const kept = await ctx.tx
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, ctx.tenantId),
        inArray(
          messages.conversationId,
          found.map((row) => row.conversationId),
        ),
        shared.length
          ? sql`(${messages.conversationId} not in ${shared} or ${theirs} or ${messages.replyToMessageId} in (
              select m.id from messages m where m.tenant_id = ${ctx.tenantId} and m.conversation_id in ${shared}
                and m.direction = 'inbound' and m.sender->>'id' in ${senderIds}))`
          : undefined,
      ),
    )
    .orderBy(asc(messages.createdAt), asc(messages.id))
    .limit(MAX_EXPORT_MESSAGES + 1);
  const truncated = kept.length > MAX_EXPORT_MESSAGES;
  const listed = kept.slice(0, MAX_EXPORT_MESSAGES);
  await recordAudit(ctx, {
    action: "contact.export",
    resourceType: "contact",
    resourceId: await identityReference(identity),
    after: { conversations: rows.length, messages: listed.length, truncated },
  });
  return {
    identity,
    exportedAt: new Date().toISOString(),
    conversations: rows.map(({ conversation, channel }) => ({
      id: conversation.id,
      channel,
      status: conversation.status,
      createdAt: conversation.createdAt.toISOString(),
      lastMessageAt: conversation.lastMessageAt.toISOString(),
      messages: listed
        .filter((message) => message.conversationId === conversation.id)
        .map((message) => ({
          id: message.id,
          direction: message.direction,
          content: message.content,
          status: message.status,
          deliveryStatus: message.deliveryStatus,
          createdAt: message.createdAt.toISOString(),
        })),
    })),
    messageCount: listed.length,
    truncated,
  };
}

export interface ContactErasure {
  conversationsDeleted: number;
  messagesDeleted: number;
  /** Memory to forget in Chroma (the caller queues `knowledge.forget`): end users as `<channel id>:<sender id>` on every channel, and their conversations. */
  forget: { endUsers: string[]; conversationIds: string[] };
}

/**
 * Forgets one end user (GDPR art. 17): a conversation only they wrote in is deleted whole (its
 * messages, tool approvals; usage records keep their cost without the link); in a conversation
 * others wrote in too (a Telegram group) their messages and the replies to them are deleted and
 * the conversation's summary, which may quote them, is dropped. Their rows in the hourly
 * end-user analytics go too. The agent's long-term memory of them is in Chroma: the caller queues
 * its deletion with {@link ContactErasure.forget}. Idempotent: a repeated erasure finds nothing and
 * answers zeros, as it does for an identity the tenant never had (another tenant's: nothing of
 * theirs is visible here). Audited by a hash of the identity, never the identity itself.
 */
export async function eraseContact({ ctx, input }: { ctx: AccessContext; input: ContactInput }): Promise<ContactErasure> {
  requirePermission(ctx, "contacts:delete");
  const { identity, channelId } = contactInput.parse(input);
  const senderIds = senderIdsOf(identity);
  const found = await conversationsOf(ctx, identity, channelId);
  const conversationIds = found.map((row) => row.conversationId);
  // Every channel's memory of them, not only where conversations remain: a retry after the job
  // could not be queued finds no conversation left but must still forget.
  const channelIds = channelId
    ? [channelId]
    : (await ctx.tx.select({ id: channels.id }).from(channels).where(eq(channels.tenantId, ctx.tenantId))).map((row) => row.id);
  const forget = { endUsers: channelIds.flatMap((id) => senderIds.map((sender) => `${id}:${sender}`)), conversationIds };
  if (conversationIds.length === 0) {
    await recordAudit(ctx, {
      action: "contact.erase",
      resourceType: "contact",
      resourceId: await identityReference(identity),
      after: { conversations: 0, messages: 0 },
    });
    return { conversationsDeleted: 0, messagesDeleted: 0, forget };
  }
  // Conversations where someone else wrote too keep the others' messages.
  const shared = await sharedConversations(ctx, conversationIds, senderIds);
  const whole = conversationIds.filter((id) => !shared.has(id));
  const partial = conversationIds.filter((id) => shared.has(id));

  let messagesDeleted = 0;
  if (whole.length) {
    const [counted] = await ctx.tx
      .select({ n: sql<number>`count(*)::int` })
      .from(messages)
      .where(and(eq(messages.tenantId, ctx.tenantId), inArray(messages.conversationId, whole)));
    messagesDeleted += counted?.n ?? 0;
    await ctx.tx.delete(conversations).where(and(eq(conversations.tenantId, ctx.tenantId), inArray(conversations.id, whole)));
  }
  if (partial.length) {
    const theirs = await ctx.tx
      .select({ id: messages.id })
      .from(messages)
      .where(
        and(
          eq(messages.tenantId, ctx.tenantId),
          inArray(messages.conversationId, partial),
          eq(messages.direction, "inbound"),
          sql`${messages.sender}->>'id' in ${senderIds}`,
        ),
      );
    const ids = theirs.map((row) => row.id);
    const replies = await ctx.tx
      .delete(messages)
      .where(and(eq(messages.tenantId, ctx.tenantId), inArray(messages.replyToMessageId, ids)))
      .returning({ id: messages.id });
    const own = await ctx.tx
      .delete(messages)
      .where(and(eq(messages.tenantId, ctx.tenantId), inArray(messages.id, ids)))
      .returning({ id: messages.id });
    messagesDeleted += replies.length + own.length;
    await ctx.tx
      .update(conversations)
      .set({ summary: null, summaryThrough: null })
      .where(and(eq(conversations.tenantId, ctx.tenantId), inArray(conversations.id, partial)));
  }
  await ctx.tx
    .delete(analyticsEndUsersHourly)
    .where(and(eq(analyticsEndUsersHourly.tenantId, ctx.tenantId), inArray(analyticsEndUsersHourly.endUser, senderIds)));
  await recordAudit(ctx, {
    action: "contact.erase",
    resourceType: "contact",
    resourceId: await identityReference(identity),
    after: { conversations: whole.length, conversationsKept: partial.length, messages: messagesDeleted },
  });
  return { conversationsDeleted: whole.length, messagesDeleted, forget };
}

/** The conversations the identity wrote in (an inbound message with its sender id), with their channel. */
async function conversationsOf(ctx: AccessContext, identity: string, channelId: string | undefined) {
  return ctx.tx
    .selectDistinct({ conversationId: messages.conversationId, channelId: messages.channelId })
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, ctx.tenantId),
        eq(messages.direction, "inbound"),
        sql`${messages.sender}->>'id' in ${senderIdsOf(identity)}`,
        channelId ? eq(messages.channelId, channelId) : undefined,
      ),
    );
}

/** Of these conversations, those someone else wrote in too (a group chat). */
async function sharedConversations(ctx: AccessContext, conversationIds: string[], senderIds: string[]): Promise<Set<string>> {
  if (conversationIds.length === 0) return new Set();
  const rows = await ctx.tx
    .selectDistinct({ id: messages.conversationId })
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, ctx.tenantId),
        inArray(messages.conversationId, conversationIds),
        eq(messages.direction, "inbound"),
        sql`coalesce(${messages.sender}->>'id', '') not in ${senderIds}`,
      ),
    );
  return new Set(rows.map((row) => row.id));
}

/** How the audit log names a contact: a hash, so the log of an erasure does not keep who was erased. */
function identityReference(identity: string): Promise<string> {
  return sha256Hex(`contact:${senderIdsOf(identity).sort().join("\n")}`).then((hex) => `sha256:${hex.slice(0, 32)}`);
}
