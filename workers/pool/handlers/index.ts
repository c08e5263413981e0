import type { InboundMessage } from "../../../core/queue/inbound-message";
import { DEFAULT_MAX_RECEIVES, type Delivery, type TurnDependencies, type TurnOutcome } from "../turn/types";
import { handleConversationFlush } from "./conversation-flush";
import { handleDeliveryStatus } from "./delivery-status";
import { handleInboundMessage } from "./inbound-message";
import { handleOperatorMessage } from "./operator-message";
import { handleIntegrationEvent } from "./integration-event";
import { handleConversationLog } from "./conversation-log";
import { handleBillingEvent } from "./billing-event";
import type { MessageHandler } from "./types";

/**
 * The pool's catalogue: one handler per kind of message on the inbound queue, each in its own
 * file. A new kind adds its schema to core/queue/inbound-message.ts, a builder to
 * core/queue/builders.ts and its handler here; the type below refuses a kind without one.
 * (Knowledge jobs have their own queue and consumer: workers/pool/knowledge.ts.)
 */
const handlers: { [K in InboundMessage["kind"]]: MessageHandler<Extract<InboundMessage, { kind: K }>> } = {
  "inbound.message": handleInboundMessage,
  "delivery.status": handleDeliveryStatus,
  "conversation.flush": handleConversationFlush,
  "operator.message": handleOperatorMessage,
  "integration.event": handleIntegrationEvent,
  "conversation.log": handleConversationLog,
  "billing.event": handleBillingEvent,
};

/** Dispatches one decoded queue message to its handler; safe to run again for the same message. */
export function processInboundMessage(
  deps: TurnDependencies,
  message: InboundMessage,
  delivery: Delivery = { receiveCount: 1 },
): Promise<TurnOutcome> {
  const handler = handlers[message.kind] as MessageHandler<InboundMessage>;
  return handler(deps, message, delivery);
}

export { DEFAULT_MAX_RECEIVES };
export type { Delivery, TurnDependencies, TurnOutcome };
