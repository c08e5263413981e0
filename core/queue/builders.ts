import type {
  ConversationFlushMessage,
  DeliveryStatusMessage,
  InboundChatMessage,
  ChannelQueueMessage,
  ConversationLogMessage,
  BillingEventMessage,
  IntegrationEventMessage,
  OperatorMessage,
} from "./inbound-message";

/**
 * The one way to make a queue message: every producer (edge webhooks, web chat, the admin API, the
 * pool's flush) calls these, so version and kind are set in one place and a new field is added once.
 */
type EnvelopeKey = "version" | "kind" | "tenantId" | "channelId" | "channelKind" | "conversationKey" | "providerMessageId" | "receivedAt";

/** The fields every message carries: which channel, which conversation, which provider event. */
export interface QueueEnvelope extends Pick<
  ChannelQueueMessage,
  "tenantId" | "channelId" | "channelKind" | "conversationKey" | "providerMessageId"
> {
  receivedAt: Date | string;
  requestId?: string;
  accountId?: string;
  sequence?: number;
}

function envelope(fields: QueueEnvelope) {
  const { receivedAt, requestId, accountId, sequence, ...rest } = fields;
  return {
    version: 1 as const,
    ...rest,
    receivedAt: typeof receivedAt === "string" ? receivedAt : receivedAt.toISOString(),
    ...(requestId === undefined ? {} : { requestId }),
    ...(accountId === undefined ? {} : { accountId }),
    ...(sequence === undefined ? {} : { sequence }),
  };
}

type Body<T> = Omit<T, EnvelopeKey | "requestId" | "accountId" | "sequence">;

/** A person wrote to a channel: runs the agent. */
export function inboundChatMessage(fields: QueueEnvelope, body: Body<InboundChatMessage>): InboundChatMessage {
  return { ...envelope(fields), kind: "inbound.message", ...body };
}

/** The channel reports on a reply we sent (WhatsApp statuses). */
export function deliveryStatusMessage(fields: QueueEnvelope, body: Body<DeliveryStatusMessage>): DeliveryStatusMessage {
  return { ...envelope(fields), kind: "delivery.status", ...body };
}

/** Answer what a conversation has left unanswered once it has gone quiet (merged rapid messages). */
export function conversationFlushMessage(fields: QueueEnvelope): ConversationFlushMessage {
  return { ...envelope(fields), kind: "conversation.flush" };
}

/** Send a message an operator wrote in the console. */
export function operatorMessage(fields: QueueEnvelope, body: Body<OperatorMessage>): OperatorMessage {
  return { ...envelope(fields), kind: "operator.message", ...body };
}

/** A connected provider reports something (a payment); not tied to a channel. */
export function integrationEventMessage(
  fields: Omit<IntegrationEventMessage, "version" | "kind" | "receivedAt" | "requestId"> & { receivedAt: Date },
): IntegrationEventMessage {
  const { receivedAt, ...rest } = fields;
  return { version: 1, kind: "integration.event", ...rest, receivedAt: receivedAt.toISOString() };
}

/** The platform's Stripe account reports on a tenant's subscription or invoices. */
export function billingEventMessage(
  fields: Omit<BillingEventMessage, "version" | "kind" | "receivedAt" | "requestId"> & { receivedAt: Date },
): BillingEventMessage {
  const { receivedAt, ...rest } = fields;
  return { version: 1, kind: "billing.event", ...rest, receivedAt: receivedAt.toISOString() };
}

/** A conversation was handed to a person: its transcript goes to the CRMs that log conversations. */
export function conversationLogMessage(
  fields: Omit<ConversationLogMessage, "version" | "kind" | "receivedAt" | "reason"> & { receivedAt: Date },
): ConversationLogMessage {
  const { receivedAt, ...rest } = fields;
  return { version: 1, kind: "conversation.log", reason: "handoff", ...rest, receivedAt: receivedAt.toISOString() };
}
