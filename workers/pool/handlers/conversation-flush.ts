import { and, asc, eq, sql } from "drizzle-orm";
import { readChannelSettings } from "../../../core/channels/config";
import type { ConversationFlushMessage } from "../../../core/queue/inbound-message";
import { conversations, messages } from "../../../db/schema";
import { withTenant } from "../../../db/tenant";
import { sleep as defaultSleep } from "../backoff";
import { UnprocessableMessageError } from "../turn-errors";
import { replyInContext } from "../turn/answer";
import { readTurnChannel, storedContext } from "../turn/context";
import type { MessageHandler } from "./types";

/** However chatty a person is, a flush answers after this long. */
const MAX_FLUSH_WAIT_MS = 60_000;

/**
 * `conversation.flush`: rapid messages, merged into one turn. Design (why not simply wait in the
 * message's own turn: the conversation is one FIFO message group, so while one of its messages is
 * held, the next ones cannot even be received):
 * 1. with a merge window set, a message's turn stores it and queues a `conversation.flush` in the
 *    conversation's *flush* group (deduplicated by the inbound message id), then finishes;
 * 2. the flush waits until the window has passed since the conversation's latest inbound message
 *    (by the database's clock, so pools' clocks do not matter), meanwhile later messages are
 *    stored by their own turns;
 * 3. then it answers every inbound message still unanswered, in order, with one reply to the latest
 *    of them, from that message's stored context (nothing is stored again, nothing re-queued): the
 *    earlier ones are in the model's history right before it, and get `covered` reply rows in the
 *    same transaction as the reply.
 * Flushes of one conversation run one at a time, in order (one FIFO group), so two never answer the
 * same messages; a later flush finds nothing left and ends. Redeliveries are safe: an inbound
 * message already answered or covered is not answered again, and a flush recomputes what is left.
 */
export const handleConversationFlush: MessageHandler<ConversationFlushMessage> = async (deps, flush, delivery) => {
  const sleep = deps.sleep ?? defaultSleep;
  const tenantId = flush.tenantId;
  const on = await withTenant(deps.db, tenantId, (tx) => readTurnChannel(tx, deps.keyring, flush)).catch((error: unknown) => {
    if (error instanceof UnprocessableMessageError) return undefined; // the channel is gone: nothing to answer
    throw error;
  });
  if (!on) return "already_replied";
  const [conversation] = await withTenant(deps.db, tenantId, (tx) =>
    tx
      .select()
      .from(conversations)
      .where(
        and(
          eq(conversations.tenantId, tenantId),
          eq(conversations.channelId, flush.channelId),
          eq(conversations.externalKey, flush.conversationKey),
        ),
      ),
  );
  if (!conversation) return "already_replied";

  const windowMs = readChannelSettings(on.channel.config).mergeWindowMs ?? 0;
  const started = Date.now();
  for (;;) {
    const [row] = await withTenant(deps.db, tenantId, (tx) =>
      tx
        .select({ quietMs: sql<string>`(extract(epoch from (now() - max(${messages.createdAt}))) * 1000)::text` })
        .from(messages)
        .where(and(eq(messages.tenantId, tenantId), eq(messages.conversationId, conversation.id), eq(messages.direction, "inbound"))),
    );
    const remaining = windowMs - Number(row?.quietMs ?? Infinity);
    if (remaining <= 0 || Date.now() - started > MAX_FLUSH_WAIT_MS) break;
    await sleep(Math.min(remaining + 10, 5_000));
  }

  const now = deps.now?.() ?? new Date();
  const context = await withTenant(deps.db, tenantId, async (tx) => {
    const unanswered = await tx
      .select()
      .from(messages)
      .innerJoin(conversations, eq(conversations.id, messages.conversationId))
      .where(
        and(
          eq(messages.tenantId, tenantId),
          eq(messages.conversationId, conversation.id),
          eq(messages.direction, "inbound"),
          sql`${messages.createdAt} > coalesce(${conversations.resetAt}, '-infinity'::timestamptz)`,
          sql`not exists (select 1 from messages r where r.reply_to_message_id = ${messages.id})`,
        ),
      )
      .orderBy(asc(messages.createdAt), asc(messages.id));
    const last = unanswered.at(-1);
    if (!last) return undefined;
    // The conversation as it is now (status, summary), read in the same transaction as the messages.
    const covered = unanswered.slice(0, -1).map((row) => row.messages.id);
    return { covered, context: await storedContext(tx, on, last.conversations, last.messages, now) };
  });
  if (!context) return "already_replied";
  const logger = deps.logger.child({
    tenantId,
    channelId: flush.channelId,
    conversationId: conversation.id,
    providerMessageId: context.context.inbound.providerMessageId ?? undefined,
  });
  return replyInContext(deps, context.context, delivery, { now, logger, covered: context.covered });
};
