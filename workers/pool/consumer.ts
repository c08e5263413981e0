import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import { Consumer } from "sqs-consumer";
import { describeError, type Logger } from "../../core/observability/log";
import { inboundMessage } from "../../core/queue/inbound-message";
import { processInboundMessage, type TurnDependencies } from "./turn";

export interface ConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  batchSize: number;
  visibilityTimeout: number;
  waitTimeSeconds: number;
  deps: TurnDependencies;
  logger: Logger;
}

/**
 * The inbound consumer, on `sqs-consumer`'s long-polling loop. A batch is split by FIFO message
 * group: groups (conversations) run in parallel, messages within a group one after another, and a
 * failure stops its group so a later message never overtakes an earlier one. Only messages that
 * succeeded are returned, which is what `sqs-consumer` deletes; the rest become visible again and
 * reach the dead-letter queue after the redrive policy's receive count. The heartbeat keeps a long
 * turn's message invisible.
 */
export function createInboundConsumer(options: ConsumerOptions): Consumer {
  const { logger } = options;
  const consumer = Consumer.create({
    sqs: options.sqs,
    queueUrl: options.queueUrl,
    batchSize: options.batchSize,
    waitTimeSeconds: options.waitTimeSeconds,
    visibilityTimeout: options.visibilityTimeout,
    heartbeatInterval: Math.max(1, Math.floor(options.visibilityTimeout / 3)),
    messageSystemAttributeNames: ["MessageGroupId", "ApproximateReceiveCount"],
    suppressFifoWarning: true,
    // stop() waits this long for the turns in flight before it reports "stopped".
    pollingCompleteWaitTimeMs: 10_000,
    handleMessageBatch: async (batch) => {
      const groups = new Map<string, Message[]>();
      for (const message of batch) {
        const group = message.Attributes?.MessageGroupId ?? message.MessageId ?? "";
        groups.set(group, [...(groups.get(group) ?? []), message]);
      }
      const done = await Promise.all([...groups.values()].map((group) => processGroup(group, options)));
      return done.flat();
    },
  });
  consumer.on("error", (error) => logger.log("error", "consumer.error", describeError(error)));
  consumer.on("processing_error", (error) => logger.log("error", "consumer.processing_error", describeError(error)));
  return consumer;
}

async function processGroup(group: Message[], options: ConsumerOptions): Promise<Message[]> {
  const done: Message[] = [];
  for (const queued of group) {
    const receiveCount = Number(queued.Attributes?.ApproximateReceiveCount ?? "1");
    const fields = { sqsMessageId: queued.MessageId, receiveCount };
    try {
      const parsed = inboundMessage.safeParse(JSON.parse(queued.Body ?? ""));
      if (!parsed.success) throw Object.assign(new Error("queue message does not match the contract"), { code: "INVALID_QUEUE_MESSAGE" });
      const outcome = await processInboundMessage(options.deps, parsed.data);
      options.logger.log("info", "consumer.processed", { ...fields, outcome, tenantId: parsed.data.tenantId });
      done.push(queued);
    } catch (error) {
      options.logger.log("error", "consumer.message_failed", { ...fields, ...describeError(error) });
      break;
    }
  }
  return done;
}
