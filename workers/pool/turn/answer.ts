import { readChannelSettings } from "../../../core/channels/config";
import { channelAdapter } from "../../../core/channels/registry";
import type { Logger } from "../../../core/observability/log";
import { timedStage } from "../../../core/observability/metrics";
import { conversationFlushMessage, conversationLogMessage } from "../../../core/queue/builders";
import type { InboundChatMessage } from "../../../core/queue/inbound-message";
import { withTenant } from "../../../db/tenant";
import { and, eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { conversations, messages } from "../../../db/schema";
import { needsMedia, resolveMedia } from "../media";
import { sendReply, settleUnconfirmed } from "../reply";
import { TurnReleasedError, UnprocessableMessageError } from "../turn-errors";
import { notAddressed, readTurnChannel, recordInbound, type InboundContext } from "./context";
import { decideReply } from "./decide";
import { recordReply } from "./record";
import type { Delivery, TurnDependencies, TurnOutcome } from "./types";

/**
 * A person's message, end to end, safe to run again for the same message:
 * 1. read the channel once (and, for media worth fetching, resolve them through the channel's API
 *    with its credentials opened once), then store the inbound message (unique per channel and
 *    provider id) and read the context: agent version, conversation memory, tenant settings,
 *    month's spend;
 * 2-3. {@link replyInContext}.
 */
export async function answerMessage(deps: TurnDependencies, message: InboundChatMessage, delivery: Delivery): Promise<TurnOutcome> {
  let logger = deps.logger.child({
    tenantId: message.tenantId,
    channelId: message.channelId,
    providerMessageId: message.providerMessageId,
    ...(message.requestId ? { requestId: message.requestId } : {}),
  });
  const now = deps.now?.() ?? new Date();
  const context = await timedStage(deps.metrics, "context", () => readContext(deps, message, now));
  if (context === "wrong_account") {
    // Not the channel's phone number: never answered from it. Logged loudly (a subscription to fix).
    logger.log("warn", "turn.wrong_account", { accountId: message.accountId });
    return "ignored";
  }
  if (context === "not_addressed") {
    logger.log("debug", "turn.not_addressed");
    return "ignored";
  }
  if (context === "tenant_deleted") {
    // Stopped for deletion: the message is not kept (its rows are about to be purged).
    logger.log("info", "turn.tenant_deleted");
    return "ignored";
  }
  logger = logger.child({ conversationId: context.conversation.id });
  return replyInContext(deps, context, delivery, { now, logger });
}

/** Step 1: the channel, the stored inbound message and its context, or why it is not answered. */
async function readContext(deps: TurnDependencies, message: InboundChatMessage, now: Date) {
  if (!needsMedia(message)) {
    return withTenant(deps.db, message.tenantId, async (tx) =>
      recordInbound(tx, await readTurnChannel(tx, deps.keyring, message), message, now),
    );
  }
  // The channel's API is called between two transactions, never inside one.
  const on = await withTenant(deps.db, message.tenantId, (tx) => readTurnChannel(tx, deps.keyring, message));
  // Nothing is fetched for a message that will not be answered (another account's, a group message not for the bot).
  const refused = notAddressed(on, message);
  if (refused) return refused;
  const resolved = await resolveMedia(deps, on, message);
  return withTenant(deps.db, message.tenantId, (tx) => recordInbound(tx, on, resolved, now));
}

export interface ReplyOptions {
  now: Date;
  logger: Logger;
  /**
   * Earlier unanswered messages this reply answers too (a merged burst, answered by its flush):
   * they get `covered` reply rows in the reply's transaction, so none is ever answered again.
   * Absent for a message's own turn, which defers to a flush when the channel merges messages.
   */
  covered?: string[];
}

/**
 * 2. unless a reply is already recorded, decide it (no transaction open during model calls) and
 *    record it as `pending` (an outbox row, unique per inbound message) with its usage record and
 *    the conversation's new summary, in one transaction;
 * 3. send it and mark it `sent`.
 * A redelivery after step 3 sends nothing; after step 2 it sends the recorded reply without asking
 * the model again. A conversation handed off to a human gets no reply.
 */
export async function replyInContext(
  deps: TurnDependencies,
  context: InboundContext,
  delivery: Delivery,
  options: ReplyOptions,
): Promise<TurnOutcome> {
  const { logger, now } = options;
  const tenantId = context.channel.tenantId;
  let reply = context.reply;
  let afterReply: (() => Promise<void>) | undefined;
  let claimed = false;
  if (reply?.status === "sending") {
    // An earlier delivery handed this reply to the channel and stopped before recording the
    // answer. Sending again could show it twice; Telegram has no idempotency key to ask.
    await settleUnconfirmed(deps, tenantId, reply.id);
    logger.log("warn", "turn.delivery_unconfirmed", { replyId: reply.id });
    return "already_replied";
  }
  if (reply?.status === "sent" || reply?.status === "failed" || reply?.status === "covered") return "already_replied";
  if (context.channel.status === "paused") {
    logger.log("info", "turn.channel_paused");
    return "channel_paused";
  }

  if (!reply) {
    if (await subscriptionSilenced(deps, context, now)) {
      logger.log("info", "turn.opted_out", { conversationId: context.conversation.id });
      return "opted_out";
    }
    if (context.conversation.status === "handed_off") {
      logger.log("info", "turn.handed_off", { conversationId: context.conversation.id });
      return "handed_off";
    }
    const { mergeWindowMs } = readChannelSettings(context.channel.config);
    if (mergeWindowMs && deps.enqueue && options.covered === undefined) {
      // Rapid messages: a flush in the conversation's flush group answers everything unanswered
      // once the window since the last message has passed (handlers/conversation-flush.ts).
      await deps.enqueue(
        conversationFlushMessage({
          tenantId,
          channelId: context.channel.id,
          channelKind: context.channel.kind,
          conversationKey: context.conversation.externalKey,
          providerMessageId: `flush:${context.inbound.id}`,
          receivedAt: now,
          // A draft answering (the playground) keeps answering through the flush.
          ...(context.agent.currentVersion !== context.agent.publishedVersion ? { agentVersion: "draft" as const } : {}),
        }),
      );
      logger.log("debug", "turn.deferred", { mergeWindowMs });
      return "deferred";
    }
    if (await senderOverLimit(deps, context)) {
      logger.log("warn", "turn.sender_limited", { conversationId: context.conversation.id });
      return "sender_limited";
    }
    const decided = await timedStage(deps.metrics, "decide", () => decideReply(deps, context, delivery, now, logger));
    afterReply = decided.afterReply;
    if (decided.conversation?.handoff && deps.enqueue) {
      // Before the reply is recorded: a retry decides again and queues it again (same deduplication id).
      await deps.enqueue(
        conversationLogMessage({ tenantId, conversationId: context.conversation.id, occurrence: context.inbound.id, receivedAt: now }),
      );
    }
    // What would stop the send is checked first, so the reply is claimed for sending (`sending`)
    // in the transaction that records it: one transaction fewer per turn. Otherwise it is recorded
    // `pending` and sendRecorded says why it is not sent now.
    const sendNow = !missingCredentials(context) && (!delivery.enterSending || delivery.enterSending());
    const recorded = await timedStage(deps.metrics, "record", () =>
      withTenant(deps.db, tenantId, (tx) => recordReply(tx, context, decided, options.covered ?? [], sendNow ? "sending" : "pending")),
    );
    reply = recorded.reply;
    claimed = sendNow && recorded.created;
  }
  try {
    return await sendRecorded(deps, context, delivery, reply, logger, claimed);
  } finally {
    // Once the reply is out (or could not go): a crash before this loses only this turn's memory
    // vector; the message itself is in the conversation's history.
    await afterReply?.();
  }
}

/**
 * 3. Sends a recorded reply: one this turn claimed when recording it, or one still `pending`
 * (recorded by an earlier delivery), unless the pool is stopping.
 */
async function sendRecorded(
  deps: TurnDependencies,
  context: InboundContext,
  delivery: Delivery,
  reply: NonNullable<InboundContext["reply"]>,
  logger: Logger,
  claimed: boolean,
): Promise<TurnOutcome> {
  if (!claimed) {
    if (reply.status !== "pending") return "already_replied";
    if (delivery.enterSending && !delivery.enterSending()) throw new TurnReleasedError("the pool is stopping; released before sending");
    // Fixable by an operator (the message waits in the dead-letter queue for a replay), so not a
    // permanent failure of this reply.
    if (missingCredentials(context)) throw new UnprocessableMessageError("the channel has no credentials");
  }
  return timedStage(deps.metrics, "send", () => sendReply(deps, context, reply, logger, { claimed }));
}

/** Whether the channel needs credentials to send and has none (an operator's to fix). */
function missingCredentials({ channel }: InboundContext): boolean {
  const connection = channelAdapter(channel.kind)?.connection;
  return Boolean(connection?.credentialFields.length && !connection.credentialsOptional && !channel.credentials);
}

/**
 * Subscription keywords (SMS): `STOP` and the like record the opt-out on the conversation,
 * `START` clears it, `HELP` is left to the provider's own answer; none is answered by the agent,
 * and nothing is answered while the person is opted out. Runs before a handoff's silence, so a
 * `STOP` to a handed-off conversation still counts.
 */
async function subscriptionSilenced(deps: TurnDependencies, context: InboundContext, now: Date): Promise<boolean> {
  const keyword = channelAdapter(context.channel.kind)?.keyword?.(context.inbound.content);
  if (keyword === "opt_out" || keyword === "opt_in") {
    const optedOutAt = keyword === "opt_out" ? now : null;
    await withTenant(deps.db, context.channel.tenantId, (tx) =>
      tx
        .update(conversations)
        .set({ optedOutAt })
        .where(and(eq(conversations.tenantId, context.channel.tenantId), eq(conversations.id, context.conversation.id))),
    );
    context.conversation.optedOutAt = optedOutAt;
  }
  return keyword !== undefined || context.conversation.optedOutAt !== null;
}

/** The inbound messages replies answer. */
const answered = alias(messages, "answered");

/** Whether the message's sender has had every reply the channel allows them in the last hour (email). */
async function senderOverLimit(deps: TurnDependencies, context: InboundContext): Promise<boolean> {
  const perHour = channelAdapter(context.channel.kind)?.repliesPerSenderPerHour?.(context.channel.config ?? {});
  const senderId = context.inbound.sender?.id;
  if (perHour === undefined || !senderId) return false;
  const tenantId = context.channel.tenantId;
  const [row] = await withTenant(deps.db, tenantId, (tx) =>
    tx
      .select({ replies: sql<number>`count(*)::int` })
      .from(messages)
      .innerJoin(answered, eq(answered.id, messages.replyToMessageId))
      .where(
        and(
          eq(messages.tenantId, tenantId),
          eq(messages.channelId, context.channel.id),
          eq(messages.direction, "outbound"),
          sql`${messages.createdAt} > now() - interval '1 hour'`,
          sql`${answered.sender}->>'id' = ${senderId}`,
        ),
      ),
  );
  return (row?.replies ?? 0) >= perHour;
}
