import type { InboundMessage } from "../../../core/queue/inbound-message";
import type { Delivery, TurnDependencies, TurnOutcome } from "../turn/types";

/**
 * One handler per queue message kind: it takes the decoded message, the services the pool built
 * at start, and where the message is in its life on the queue. The consumer only decodes and
 * dispatches (handlers/index.ts).
 */
export type MessageHandler<M extends InboundMessage> = (deps: TurnDependencies, message: M, delivery: Delivery) => Promise<TurnOutcome>;
