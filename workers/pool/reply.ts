import { and, desc, eq } from "drizzle-orm";
import { describeError, type Logger } from "../../core/observability/log";
import { messages, type Channel, type Conversation, type Message, type MessageSender, type MessageStatus } from "../../db/schema";
import type { Database } from "../../db/client";
import { withTenant } from "../../db/tenant";
import { retryWhile, sleep } from "./backoff";
import { isTransientFailure } from "./failures";
import { PermanentSendError } from "../../core/channels/adapter";
import { senderFor } from "../../core/channels/registry";
import type { TurnDependencies } from "./turn/types";

/**
 * Hands the reply to its channel's sender (workers/pool/senders): claimed `pending` → `sending`
 * first (unless the turn recorded it `sending`), so from here a crash or a redelivery never sends
 * it a second time; each part the channel accepts is recorded as it goes (a split reply
 * interrupted midway resumes after its last part); `sent` at the end. A permanent failure (blocked bot, outside WhatsApp's window with no template)
 * is recorded as `failed` with its reason; anything else gives the reply back (`pending`) and the
 * message is retried.
 */
export async function sendReply(
  deps: TurnDependencies,
  /** `inbound`: the message this answers (WhatsApp marks it read); none for an operator's message. */
  context: {
    channel: Channel;
    conversation: Conversation;
    inbound?: Pick<Message, "providerMessageId" | "sender">;
    /** The channel's credentials, opened at most once per turn (TurnChannel). */
    credentials(): Promise<Record<string, string> | undefined>;
  },
  reply: Message,
  logger: Logger,
  /** `claimed`: the turn recorded the reply as `sending` itself (recordReply), so it is this delivery's to send. */
  options: { claimed?: boolean } = {},
): Promise<"replied" | "already_replied" | "send_failed"> {
  const { channel, inbound } = context;
  const tenantId = channel.tenantId;
  const claimed = options.claimed === true || (await setReplyStatus(deps, tenantId, reply.id, "pending", { status: "sending" }));
  if (!claimed) return "already_replied";
  const delivered = reply.providerMessageId ? reply.providerMessageId.split(",") : [];
  const sender = senderFor(channel.kind, {
    telegramApiBase: deps.telegramApiBase,
    whatsappApiBase: deps.whatsappApiBase,
    twilioApiBase: deps.twilioApiBase,
    logger,
    sleep: deps.sleep ?? sleep,
    ...(deps.rateLimitBaseMs !== undefined ? { rateLimitBaseMs: deps.rateLimitBaseMs } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.sendMail ? { sendMail: deps.sendMail } : {}),
  });
  // WhatsApp's 24-hour window starts at the person's last message; an email operator message replies to it.
  const last =
    channel.kind === "whatsapp" || (channel.kind === "email" && !inbound?.sender)
      ? await lastInbound(deps.db, tenantId, context.conversation.id)
      : undefined;
  const inboundSender = inbound?.sender ?? last?.sender ?? undefined;
  try {
    await sender.send(
      {
        replyId: reply.id,
        channel,
        credentials: await context.credentials(),
        conversationKey: context.conversation.externalKey,
        text: reply.content,
        partsDelivered: delivered.length,
        ...(inbound?.providerMessageId ? { inboundProviderMessageId: inbound.providerMessageId } : {}),
        ...(inboundSender ? { inboundSender } : {}),
        ...(channel.kind === "whatsapp" ? { lastInboundAt: last?.at } : {}),
        ...(context.conversation.status === "handed_off" ? { handoff: true } : {}),
      },
      {
        onPart: async (providerMessageId, { last }) => {
          delivered.push(providerMessageId);
          // The last part's id goes with the `sent` write just below: one transaction fewer per
          // reply. A crash in between leaves it `sending`, settled as unconfirmed, never resent.
          if (!last) await setReplyStatus(deps, tenantId, reply.id, "sending", { providerMessageId: delivered.join(",").slice(0, 4000) });
        },
      },
    );
  } catch (error) {
    if (error instanceof PermanentSendError) {
      // Retrying cannot help: record why and stop, so there is no retry storm.
      await setReplyStatus(deps, tenantId, reply.id, "sending", { status: "failed", error: error.message.slice(0, 500) });
      logger.log("warn", "turn.send_failed", { reason: error.message });
      return "send_failed";
    }
    // Not delivered (or not all of it): a retry may send what is missing.
    await setReplyStatus(deps, tenantId, reply.id, "sending", { status: "pending" });
    throw error;
  }
  const confirmed = {
    ...(delivered.length ? { providerMessageId: delivered.join(",").slice(0, 4000) } : {}),
    sentAt: new Date(),
  };
  if (!(await setReplyStatus(deps, tenantId, reply.id, "sending", { status: "sent", ...confirmed }))) {
    // Another delivery found it `sending` meanwhile and settled it as unconfirmed: this one did
    // deliver it, so its confirmation replaces that guess.
    await setReplyStatus(deps, tenantId, reply.id, "sent", { ...confirmed, error: null });
  }
  logger.log("info", "turn.reply_sent", { parts: delivered.length });
  return "replied";
}

export async function settleUnconfirmed(deps: TurnDependencies, tenantId: string, replyId: string): Promise<void> {
  await setReplyStatus(deps, tenantId, replyId, "sending", {
    status: "sent",
    error: "delivery unconfirmed: the pool stopped while sending",
  });
}

/**
 * Moves a reply from one status to the next (compare-and-set: false when it was not in `from`).
 * Once the channel has the reply these writes are all that stop a redelivery from sending it
 * again, so a database outage is waited out in place (backoff, up to a minute) rather than
 * failing the turn.
 */
async function setReplyStatus(
  deps: TurnDependencies,
  tenantId: string,
  replyId: string,
  from: MessageStatus,
  changes: Partial<Pick<Message, "status" | "providerMessageId" | "sentAt" | "error">>,
): Promise<boolean> {
  const deadline = Date.now() + STATUS_WRITE_DEADLINE_MS;
  const policy = retryWhile((error) => isTransientFailure(error) && Date.now() < deadline, { baseMs: 200, maxMs: 5_000 });
  const listener = policy.onRetry((event) => {
    if ("error" in event) deps.logger.log("warn", "turn.status_write_retry", { attempt: event.attempt - 1, ...describeError(event.error) });
  });
  try {
    return await policy.execute(async () => {
      const updated = await withTenant(deps.db, tenantId, (tx) =>
        tx
          .update(messages)
          .set(changes)
          .where(and(eq(messages.id, replyId), eq(messages.tenantId, tenantId), eq(messages.status, from)))
          .returning({ id: messages.id }),
      );
      return updated.length === 1;
    });
  } finally {
    listener.dispose();
  }
}

const STATUS_WRITE_DEADLINE_MS = 60_000;

/** The person's last message in this conversation: when (WhatsApp's 24-hour window starts there) and who, as stored. */
async function lastInbound(
  db: Database,
  tenantId: string,
  conversationId: string,
): Promise<{ at: Date; sender: MessageSender | null } | undefined> {
  const [row] = await withTenant(db, tenantId, (tx) =>
    tx
      .select({ at: messages.createdAt, sender: messages.sender })
      .from(messages)
      .where(and(eq(messages.tenantId, tenantId), eq(messages.conversationId, conversationId), eq(messages.direction, "inbound")))
      .orderBy(desc(messages.createdAt))
      .limit(1),
  );
  return row;
}
