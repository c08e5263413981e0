import { and, eq } from "drizzle-orm";
import { openChannelCredentials } from "../../../core/channels/credentials";
import type { OperatorMessage } from "../../../core/queue/inbound-message";
import { channels, conversations, messages } from "../../../db/schema";
import { withTenant } from "../../../db/tenant";
import { sendReply, settleUnconfirmed } from "../reply";
import { TurnReleasedError } from "../turn-errors";
import type { MessageHandler } from "./types";

/**
 * `operator.message`: sends a message a person wrote in the console (recorded `pending` by the admin API) through the
 * conversation's channel, with the same claim-then-send steps as an agent's reply, so a
 * redelivery never sends it twice. No agent runs. A message that is gone or no longer pending
 * (sent, failed) is acknowledged and nothing is sent.
 */
export const handleOperatorMessage: MessageHandler<OperatorMessage> = async (deps, job, delivery) => {
  const logger = deps.logger.child({
    tenantId: job.tenantId,
    channelId: job.channelId,
    messageId: job.messageId,
    ...(job.requestId ? { requestId: job.requestId } : {}),
  });
  const found = await withTenant(deps.db, job.tenantId, async (tx) => {
    const [row] = await tx
      .select({ message: messages, conversation: conversations, channel: channels })
      .from(messages)
      .innerJoin(conversations, and(eq(conversations.tenantId, job.tenantId), eq(conversations.id, messages.conversationId)))
      .innerJoin(channels, and(eq(channels.tenantId, job.tenantId), eq(channels.id, messages.channelId)))
      .where(and(eq(messages.tenantId, job.tenantId), eq(messages.id, job.messageId), eq(messages.direction, "outbound")));
    return row;
  });
  if (found?.message.status === "sending") {
    // An earlier delivery handed it to the channel and stopped before recording that: not sent again.
    await settleUnconfirmed(deps, job.tenantId, found.message.id);
    logger.log("warn", "operator.delivery_unconfirmed");
    return "already_replied";
  }
  if (!found || found.message.status !== "pending") {
    logger.log("info", "operator.not_pending", { status: found?.message.status ?? "missing" });
    return "already_replied";
  }
  if (delivery.enterSending && !delivery.enterSending()) throw new TurnReleasedError("the pool is stopping; released before sending");
  return sendReply(
    deps,
    { channel: found.channel, conversation: found.conversation, credentials: () => openChannelCredentials(deps.keyring, found.channel) },
    found.message,
    logger.child({ conversationId: found.conversation.id }),
  );
};
