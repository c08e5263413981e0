import { createLogger } from "../../core/observability/log";
import type { InboundMessage } from "../../core/queue/inbound-message";
import type { ServicesFactory } from "../../workers/edge/app";

/**
 * Edge services for tests that run the edge in Node (`newApp(...).fetch`, `newEmailHandler`): the
 * queue records what is enqueued, or fails like an unreachable SQS with `failQueue`.
 */
export function recordingEdgeServices(options: { failQueue?: boolean } = {}): { enqueued: InboundMessage[]; services: ServicesFactory } {
  const enqueued: InboundMessage[] = [];
  return {
    enqueued,
    services: (config) => ({
      config,
      logger: createLogger({}, "error"),
      inboundQueue: {
        async enqueue(message) {
          if (options.failQueue) throw new Error("queue down");
          enqueued.push(message);
        },
        async checkReady() {},
      },
    }),
  };
}
