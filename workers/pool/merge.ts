import { and, asc, eq, sql } from "drizzle-orm";
import { readChannelSettings } from "../../core/channels/config";
import type { ConversationFlushMessage, InboundChatMessage } from "../../core/queue/inbound-message";
import type { Database } from "../../db/client";
import { channels, conversations, messages } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { sleep as defaultSleep } from "./backoff";
import type { TurnDependencies, TurnOutcome } from "./turn";
import { inboundChatMessage } from "../../core/queue/builders";

/** However chatty a person is, a flush answers after this long. */
const MAX_FLUSH_WAIT_MS = 60_000;

/**
 * Rapid messages, merged into one turn. Design (why not simply wait in the message's own turn:
 * the conversation is one FIFO message group, so while one of its messages is held, the next ones
 * cannot even be received):
 * 1. with a merge window set, a message's turn stores it and queues a `conversation.flush` in the
 *    conversation's *flush* group (deduplicated by the inbound message id), then finishes;
 * 2. the flush waits until the window has passed since the conversation's latest inbound message
 *    (by the database's clock, so pools' clocks do not matter), meanwhile later messages are
 *    stored by their own turns;
 * 3. then it answers every inbound message still unanswered, in order, with one turn on the latest
 *    of them: the earlier ones are in the model's history right before it, and get `covered` reply
 *    rows in the same transaction as the reply.
 * Flushes of one conversation run one at a time, in order (one FIFO group), so two never answer the
 * same messages; a later flush finds nothing left and ends. Redeliveries are safe: an inbound
 * message already answered or covered is not answered again, and a flush recomputes what is left.
 */
export async function flushConversation(
  deps: TurnDependencies,
  flush: ConversationFlushMessage,
  answer: (last: InboundChatMessage, covered: string[]) => Promise<TurnOutcome>,
): Promise<TurnOutcome> {
  const sleep = deps.sleep ?? defaultSleep;
  const started = Date.now();
  for (;;) {
    const state = await withTenant(deps.db, flush.tenantId, async (tx) => {
      const [channel] = await tx
        .select()
        .from(channels)
        .where(and(eq(channels.tenantId, flush.tenantId), eq(channels.id, flush.channelId)));
      if (!channel) return undefined;
      const [row] = await tx
        .select({ quietMs: sql<string>`(extract(epoch from (now() - max(${messages.createdAt}))) * 1000)::text` })
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .where(
          and(
            eq(messages.tenantId, flush.tenantId),
            eq(conversations.channelId, flush.channelId),
            eq(conversations.externalKey, flush.conversationKey),
            eq(messages.direction, "inbound"),
          ),
        );
      return { windowMs: readChannelSettings(channel.config).mergeWindowMs ?? 0, quietMs: Number(row?.quietMs ?? Infinity) };
    });
    if (!state) return "already_replied";
    const remaining = state.windowMs - state.quietMs;
    if (remaining <= 0 || Date.now() - started > MAX_FLUSH_WAIT_MS) break;
    await sleep(Math.min(remaining + 10, 5_000));
  }

  const unanswered = await withTenant(deps.db, flush.tenantId, (tx) =>
    tx
      .select({ message: messages, channelKind: channels.kind })
      .from(messages)
      .innerJoin(conversations, eq(conversations.id, messages.conversationId))
      .innerJoin(channels, eq(channels.id, messages.channelId))
      .where(
        and(
          eq(messages.tenantId, flush.tenantId),
          eq(conversations.channelId, flush.channelId),
          eq(conversations.externalKey, flush.conversationKey),
          eq(messages.direction, "inbound"),
          sql`${messages.createdAt} > coalesce(${conversations.resetAt}, '-infinity'::timestamptz)`,
          sql`not exists (select 1 from messages r where r.reply_to_message_id = ${messages.id})`,
        ),
      )
      .orderBy(asc(messages.createdAt), asc(messages.id)),
  );
  const last = unanswered.at(-1);
  if (!last?.message.providerMessageId) return "already_replied";
  const row = last.message;
  return answer(
    inboundChatMessage(
      {
        tenantId: flush.tenantId,
        channelId: flush.channelId,
        channelKind: last.channelKind,
        conversationKey: flush.conversationKey,
        providerMessageId: row.providerMessageId!,
        receivedAt: flush.receivedAt,
      },
      {
        text: row.content,
        sender: { id: typeof row.sender?.id === "string" && row.sender.id ? row.sender.id : flush.conversationKey },
        sentAt: row.createdAt.toISOString(),
      },
    ),
    unanswered.slice(0, -1).map((item) => item.message.id),
  );
}

/** When the person last wrote in this conversation (WhatsApp's 24-hour window starts there). */
export async function lastInboundAt(db: Database, tenantId: string, conversationId: string): Promise<Date | undefined> {
  const [row] = await withTenant(db, tenantId, (tx) =>
    tx
      .select({ at: sql<string | null>`max(${messages.createdAt})::text` })
      .from(messages)
      .where(and(eq(messages.tenantId, tenantId), eq(messages.conversationId, conversationId), eq(messages.direction, "inbound"))),
  );
  return row?.at ? new Date(row.at) : undefined;
}
