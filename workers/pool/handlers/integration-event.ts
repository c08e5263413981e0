import { and, eq } from "drizzle-orm";
import { openChannelCredentials } from "../../../core/channels/credentials";
import type { IntegrationEventMessage } from "../../../core/queue/inbound-message";
import type { Transaction } from "../../../db/client";
import { channels, conversations, integrationConnections, integrationEvents, messages, type Message } from "../../../db/schema";
import { withTenant } from "../../../db/tenant";
import { sendReply, settleUnconfirmed } from "../reply";
import { TurnReleasedError } from "../turn-errors";
import type { MessageHandler } from "./types";

/** What the person is told when their payment arrives (it also joins the conversation's history, so the agent knows). */
export function paymentNotice(amount: number, currency: string): string {
  const formatted = new Intl.NumberFormat("en", { style: "currency", currency: currency.toUpperCase() }).format(amount / 100);
  return `Payment received: ${formatted}. Thank you!`;
}

/**
 * `integration.event`: a connected provider reported something at its webhook (a Stripe payment).
 * Each event id is recorded once per connection; a payment is matched to its conversation inside
 * the address's tenant (the payment link the agent made, else the conversation id in the payment's
 * metadata, which must be one of this tenant's), and one notice per payment is recorded as a
 * pending outbound message and sent through the conversation's channel with the same claim-then-send
 * steps as a reply, so neither a redelivered event nor Stripe's two events for one payment
 * (checkout completed, payment intent succeeded) send it twice.
 */
export const handleIntegrationEvent: MessageHandler<IntegrationEventMessage> = async (deps, job, delivery) => {
  const logger = deps.logger.child({
    tenantId: job.tenantId,
    connectionId: job.connectionId,
    eventId: job.eventId,
    ...(job.requestId ? { requestId: job.requestId } : {}),
  });
  const prepared = await withTenant(deps.db, job.tenantId, (tx) => prepare(tx, job));
  if (prepared.kind !== "send") {
    logger.log("info", "integration.event", { eventType: job.eventType, result: prepared.kind });
    return "status_recorded";
  }
  const { message, conversation, channel } = prepared;
  if (message.status === "sending") {
    await settleUnconfirmed(deps, job.tenantId, message.id);
    return "already_replied";
  }
  if (message.status !== "pending") return "already_replied";
  if (delivery.enterSending && !delivery.enterSending()) throw new TurnReleasedError("the pool is stopping; released before sending");
  logger.log("info", "integration.payment_notice", { conversationId: conversation.id, messageId: message.id });
  return sendReply(
    deps,
    { channel, conversation, credentials: () => openChannelCredentials(deps.keyring, channel) },
    message,
    logger.child({ conversationId: conversation.id }),
  );
};

type Prepared =
  | { kind: "unknown_connection" | "recorded" | "no_conversation" | "noticed_already" }
  | { kind: "send"; message: Message; conversation: typeof conversations.$inferSelect; channel: typeof channels.$inferSelect };

async function prepare(tx: Transaction, job: IntegrationEventMessage): Promise<Prepared> {
  const tenant = eq(integrationEvents.tenantId, job.tenantId);
  const [connection] = await tx
    .select({ id: integrationConnections.id })
    .from(integrationConnections)
    .where(
      and(
        eq(integrationConnections.tenantId, job.tenantId),
        eq(integrationConnections.id, job.connectionId),
        eq(integrationConnections.provider, job.provider),
      ),
    );
  if (!connection) return { kind: "unknown_connection" };

  const [recorded] = await tx
    .insert(integrationEvents)
    .values({
      tenantId: job.tenantId,
      provider: job.provider,
      externalId: job.eventId,
      kind: job.eventType,
      details: { payment: job.payment ?? null },
    })
    .onConflictDoNothing()
    .returning();
  if (!recorded) {
    // Delivered again: if this event produced a notice, finish sending it (the claim keeps it to one).
    const [earlier] = await tx
      .select({ details: integrationEvents.details })
      .from(integrationEvents)
      .where(and(tenant, eq(integrationEvents.provider, job.provider), eq(integrationEvents.externalId, job.eventId)));
    const messageId = earlier?.details.messageId;
    return typeof messageId === "string" ? loadNotice(tx, job.tenantId, messageId) : { kind: "recorded" };
  }
  const payment = job.payment;
  if (!payment) return { kind: "recorded" };

  // The link the agent made (recorded by its tool), else the conversation the payment's metadata names.
  let conversationId = payment.conversationId;
  if (payment.paymentLinkId) {
    const [link] = await tx
      .select({ conversationId: integrationEvents.conversationId })
      .from(integrationEvents)
      .where(and(tenant, eq(integrationEvents.provider, job.provider), eq(integrationEvents.externalId, payment.paymentLinkId)));
    conversationId = link?.conversationId ?? conversationId;
  }
  if (!conversationId) return { kind: "no_conversation" };
  const [found] = await tx
    .select({ conversation: conversations, channel: channels })
    .from(conversations)
    .innerJoin(channels, and(eq(channels.tenantId, job.tenantId), eq(channels.id, conversations.channelId)))
    .where(and(eq(conversations.tenantId, job.tenantId), eq(conversations.id, conversationId)));
  if (!found) return { kind: "no_conversation" };

  // One notice per payment, whichever of its events comes first.
  const [notice] = await tx
    .insert(integrationEvents)
    .values({
      tenantId: job.tenantId,
      provider: job.provider,
      externalId: `payment:${payment.paymentIntentId ?? job.eventId}`,
      kind: "payment_notice",
      conversationId,
    })
    .onConflictDoNothing()
    .returning({ id: integrationEvents.id });
  if (!notice) return { kind: "noticed_already" };
  const [message] = await tx
    .insert(messages)
    .values({
      tenantId: job.tenantId,
      conversationId,
      channelId: found.channel.id,
      direction: "outbound",
      status: "pending",
      content: paymentNotice(payment.amount, payment.currency),
      sender: { id: `integration:${job.provider}`, event: job.eventType },
    })
    .returning();
  for (const id of [recorded.id, notice.id])
    await tx
      .update(integrationEvents)
      .set({ details: { payment, messageId: message!.id } })
      .where(and(tenant, eq(integrationEvents.id, id)));
  return { kind: "send", message: message!, conversation: found.conversation, channel: found.channel };
}

async function loadNotice(tx: Transaction, tenantId: string, messageId: string): Promise<Prepared> {
  const [row] = await tx
    .select({ message: messages, conversation: conversations, channel: channels })
    .from(messages)
    .innerJoin(conversations, and(eq(conversations.tenantId, tenantId), eq(conversations.id, messages.conversationId)))
    .innerJoin(channels, and(eq(channels.tenantId, tenantId), eq(channels.id, messages.channelId)))
    .where(and(eq(messages.tenantId, tenantId), eq(messages.id, messageId)));
  return row ? { kind: "send", ...row } : { kind: "recorded" };
}
