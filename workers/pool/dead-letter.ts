import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { describeError } from "../../core/observability/log";
import { failureCode } from "./failures";

/** Where a message goes after its last allowed receive, from the queue's own redrive policy. */
export interface DeadLetterTarget {
  queueUrl: string;
  maxReceiveCount: number;
}

/**
 * Reads the inbound queue's `RedrivePolicy` (so the pool moves messages on exactly the receive
 * where SQS would) and finds the dead-letter queue's URL from its ARN. `override` wins where set;
 * without a redrive policy and without an override there is no target (messages retry forever).
 */
export async function resolveDeadLetterTarget(
  sqs: SQSClient,
  queueUrl: string,
  override: { queueUrl?: string | undefined; maxReceiveCount?: number | undefined } = {},
): Promise<DeadLetterTarget | undefined> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["RedrivePolicy"] }));
  const policy = Attributes?.RedrivePolicy
    ? (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: string; maxReceiveCount?: number | string })
    : undefined;
  const maxReceiveCount = override.maxReceiveCount ?? (policy?.maxReceiveCount !== undefined ? Number(policy.maxReceiveCount) : undefined);
  let deadLetterUrl = override.queueUrl;
  if (!deadLetterUrl && policy?.deadLetterTargetArn) {
    // arn:aws:sqs:REGION:ACCOUNT:NAME
    const [, , , , account, name] = policy.deadLetterTargetArn.split(":");
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }));
    deadLetterUrl = QueueUrl;
  }
  if (!deadLetterUrl || !maxReceiveCount || !Number.isFinite(maxReceiveCount)) return undefined;
  return { queueUrl: deadLetterUrl, maxReceiveCount };
}

/** Message attributes the pool puts on a dead-lettered message (SQS allows 10). */
export const FAILURE_ATTRIBUTES = {
  code: "failure.code",
  message: "failure.message",
  at: "failure.at",
  receiveCount: "failure.receive-count",
  sourceMessageId: "source.message-id",
  sourceQueue: "source.queue",
} as const;

/**
 * Copies a message that failed on its last allowed receive to the dead-letter queue with the last
 * error attached, then deletes the original. The copy's deduplication id is the original message
 * id, so a crash between the two steps and a second move store one copy. SQS's own redrive stays
 * as the backstop (a pool killed mid-move, an older pool).
 */
export async function moveToDeadLetter(
  sqs: SQSClient,
  target: DeadLetterTarget,
  source: { queueUrl: string; message: Message; receiveCount: number; error: unknown },
): Promise<void> {
  const { message } = source;
  const described = describeError(source.error);
  const text = String(described.message ?? described.error ?? "").slice(0, 1_000) || "(no message)";
  const attributes: Record<string, MessageAttributeValue> = {
    [FAILURE_ATTRIBUTES.code]: { DataType: "String", StringValue: failureCode(source.error) },
    [FAILURE_ATTRIBUTES.message]: { DataType: "String", StringValue: text },
    [FAILURE_ATTRIBUTES.at]: { DataType: "String", StringValue: new Date().toISOString() },
    [FAILURE_ATTRIBUTES.receiveCount]: { DataType: "Number", StringValue: String(source.receiveCount) },
    [FAILURE_ATTRIBUTES.sourceMessageId]: { DataType: "String", StringValue: message.MessageId ?? "unknown" },
    [FAILURE_ATTRIBUTES.sourceQueue]: { DataType: "String", StringValue: source.queueUrl },
  };
  const fifo = target.queueUrl.endsWith(".fifo");
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: target.queueUrl,
      MessageBody: message.Body ?? "",
      MessageAttributes: attributes,
      ...(fifo
        ? {
            MessageGroupId: message.Attributes?.MessageGroupId ?? "dead-letter",
            MessageDeduplicationId: message.MessageId ?? String(Date.now()),
          }
        : {}),
    }),
  );
  await sqs.send(new DeleteMessageCommand({ QueueUrl: source.queueUrl, ReceiptHandle: message.ReceiptHandle }));
}

/** One dead-lettered message as the `dlq` command shows it. */
export interface DeadLetter {
  messageId: string;
  receiptHandle: string;
  body: string;
  groupId: string | undefined;
  /** When it entered the dead-letter queue. */
  enqueuedAt: string | undefined;
  /** The last error, when the pool moved it (absent when SQS's redrive did). */
  failure:
    | {
        code: string | undefined;
        message: string | undefined;
        at: string | undefined;
        receiveCount: number | undefined;
        sourceMessageId: string | undefined;
      }
    | undefined;
}

export interface DeadLetterBrowse {
  letters: DeadLetter[];
  /** Makes every browsed message visible again (what `list` and `inspect` do when done). */
  release(): Promise<void>;
}

/**
 * Reads every message in the dead-letter queue without consuming it: receives with a visibility
 * timeout of `holdSeconds` until nothing new comes back. A FIFO queue hands out at most one batch
 * of a group at a time, so a conversation with more than 10 dead letters shows its first 10.
 * Call `release()` (or replay) afterwards; otherwise they reappear after `holdSeconds`.
 */
export async function browseDeadLetters(
  sqs: SQSClient,
  deadLetterUrl: string,
  options: { holdSeconds?: number; max?: number } = {},
): Promise<DeadLetterBrowse> {
  const letters: DeadLetter[] = [];
  const seen = new Set<string>();
  const max = options.max ?? 1_000;
  while (letters.length < max) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: options.holdSeconds ?? 30,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["MessageGroupId", "SentTimestamp"],
      }),
    );
    const fresh = (Messages ?? []).filter((message) => message.MessageId && !seen.has(message.MessageId));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.MessageId!);
      letters.push(toDeadLetter(message));
    }
  }
  return {
    letters,
    release: async () => {
      // Last first: an emulator that puts a released message at the front of its group keeps the order.
      for (const letter of [...letters].reverse()) {
        if (!letter.receiptHandle) continue; // replayed: already deleted
        await sqs
          .send(new ChangeMessageVisibilityCommand({ QueueUrl: deadLetterUrl, ReceiptHandle: letter.receiptHandle, VisibilityTimeout: 0 }))
          .catch(() => undefined);
      }
    },
  };
}

/**
 * Sends a dead letter back to the inbound queue, unchanged, in its conversation's group, then
 * removes it from the dead-letter queue. Replaying a message that was in fact answered is
 * harmless: the pool finds its reply recorded and sends nothing.
 */
export async function replayDeadLetter(sqs: SQSClient, letter: DeadLetter, deadLetterUrl: string, inboundQueueUrl: string): Promise<void> {
  const fifo = inboundQueueUrl.endsWith(".fifo");
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: inboundQueueUrl,
      MessageBody: letter.body,
      ...(fifo ? { MessageGroupId: letter.groupId ?? "replay", MessageDeduplicationId: `replay:${letter.messageId}`.slice(0, 128) } : {}),
    }),
  );
  await sqs.send(new DeleteMessageCommand({ QueueUrl: deadLetterUrl, ReceiptHandle: letter.receiptHandle }));
}

function toDeadLetter(message: Message): DeadLetter {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const code = attribute(FAILURE_ATTRIBUTES.code);
  const sent = message.Attributes?.SentTimestamp;
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? "",
    groupId: message.Attributes?.MessageGroupId,
    enqueuedAt: sent ? new Date(Number(sent)).toISOString() : undefined,
    failure: code
      ? {
          code,
          message: attribute(FAILURE_ATTRIBUTES.message),
          at: attribute(FAILURE_ATTRIBUTES.at),
          receiveCount: attribute(FAILURE_ATTRIBUTES.receiveCount) ? Number(attribute(FAILURE_ATTRIBUTES.receiveCount)) : undefined,
          sourceMessageId: attribute(FAILURE_ATTRIBUTES.sourceMessageId),
        }
      : undefined,
  };
}
