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

/** The edge environment tests that run the edge in Node start from: a signing key, a queue that is never called, quiet logs. */
export function testEdgeEnv(signingKey: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WEBHOOK_SIGNING_KEY: signingKey,
    SQS_ACCESS_KEY_ID: "test",
    SQS_SECRET_ACCESS_KEY: "test",
    INBOUND_QUEUE_URL: "http://127.0.0.1:1/000000000000/inbound.fifo",
    LOG_LEVEL: "error",
    ...extra,
  };
}
