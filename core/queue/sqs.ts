import {
  GetQueueAttributesCommand,
  SQSClient,
  SendMessageBatchCommand,
  SendMessageCommand,
  type GetQueueAttributesCommandInput,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  type SendMessageCommandInput,
} from "@aws-sdk/client-sqs";
import { AwsClient } from "aws4fetch";
import { deduplicationId, messageGroupId, type InboundMessage } from "./inbound-message";

export interface SqsConfig {
  region: string;
  /** Unset in production (the SDK derives it from the region); a loopback URL locally. */
  endpoint?: string | undefined;
  /**
   * Static credentials (the edge: Workers have no IAM role; the local emulator). Unset: the SDK's
   * default chain, as the pool on ECS uses its task role.
   */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

/** What the edge needs from the queue; tests and other runtimes can supply their own. */
export interface InboundQueue {
  enqueue(message: InboundMessage): Promise<void>;
  /**
   * Several messages in their order (one webhook's batch), in `SendMessageBatch` calls of up to 10;
   * see {@link enqueueInOrder}. Absent on test doubles, which get them one by one.
   */
  enqueueAll?(messages: InboundMessage[]): Promise<void>;
  /** Resolves when the queue answers; for readiness checks. */
  checkReady(): Promise<void>;
}

export function createSqsClient(config: SqsConfig): SQSClient {
  return new SQSClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.accessKeyId && config.secretAccessKey
      ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
      : {}),
    maxAttempts: 3,
  });
}

/**
 * The SQS actions the senders use (the inbound queue here, knowledge jobs in core/knowledge/jobs.ts).
 * Two transports: {@link sqsOverSdk}, the AWS SDK's client (the pool, which also receives with it
 * and takes credentials from the SDK's default chain), and {@link sqsOverFetch} (the edge).
 */
export interface SqsSend {
  sendMessage(input: SendMessageCommandInput): Promise<void>;
  sendMessageBatch(input: SendMessageBatchCommandInput): Promise<Pick<SendMessageBatchCommandOutput, "Failed">>;
  getQueueAttributes(input: GetQueueAttributesCommandInput): Promise<void>;
}

export function sqsOverSdk(client: SQSClient): SqsSend {
  return {
    async sendMessage(input) {
      await client.send(new SendMessageCommand(input));
    },
    sendMessageBatch: (input) => client.send(new SendMessageBatchCommand(input)),
    async getQueueAttributes(input) {
      await client.send(new GetQueueAttributesCommand(input));
    },
  };
}

/**
 * SQS's JSON protocol over `fetch`, signed with aws4fetch: one request per call and none of the
 * SDK's middleware, which in a Worker cost most of the webhook's CPU time (`npm run bench:edge`).
 * Hand-written beyond the signing because the three calls are all the edge makes. Errors carry
 * `$metadata.httpStatusCode` and the error's name (`QueueDoesNotExist`), as the SDK's do. Up to
 * two retries of a 5xx or 429 (aws4fetch's backoff); a dropped connection throws a `TypeError`.
 */
export function sqsOverFetch(config: SqsConfig & { accessKeyId: string; secretAccessKey: string }): SqsSend {
  const aws = new AwsClient({
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    region: config.region,
    service: "sqs",
    retries: 2,
  });
  const endpoint = config.endpoint ?? `https://sqs.${config.region}.amazonaws.com/`;
  const call = async <T>(action: string, input: object): Promise<T> => {
    const response = await aws.fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` },
      body: JSON.stringify(input),
    });
    const text = await response.text();
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!response.ok) {
      // "__type": "com.amazonaws.sqs#QueueDoesNotExist"; some services answer with a "message" and some with "Message".
      const name = String(body.__type ?? "SqsError")
        .split("#")
        .pop()!;
      throw Object.assign(new Error(`SQS ${action}: ${name}: ${String(body.message ?? body.Message ?? response.statusText)}`), {
        name,
        $metadata: { httpStatusCode: response.status },
      });
    }
    return body as T;
  };
  return {
    async sendMessage(input) {
      await call("SendMessage", input);
    },
    sendMessageBatch: (input) => call("SendMessageBatch", input),
    async getQueueAttributes(input) {
      await call("GetQueueAttributes", input);
    },
  };
}

/**
 * Sends inbound messages to the FIFO queue: one conversation is one message group (ordering),
 * and the provider's event id is the deduplication id (a webhook retried by the provider within
 * SQS's five-minute window is stored once; the database's unique key catches later ones).
 * Because of that deduplication a send is safe to repeat, so one that failed without a client
 * error is tried once more here, after the SDK's own retries: the SDK does not retry a connection
 * the runtime dropped (workerd reports it as a plain `TypeError`), and every failure that reaches
 * the webhook costs a 503 and a provider-side redelivery.
 */
export function createSqsInboundQueue(client: SqsSend, queueUrl: string): InboundQueue {
  /** One retry of a send that failed without a client error (see above); safe thanks to the deduplication ids. */
  const sendTwice = async <T>(send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== undefined && status < 500) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return send();
    }
  };
  return {
    async enqueue(message) {
      const input = {
        QueueUrl: queueUrl,
        MessageBody: sqsSafeJson(message),
        MessageGroupId: messageGroupId(message),
        MessageDeduplicationId: deduplicationId(message),
      };
      await sendTwice(() => client.sendMessage(input));
    },
    /**
     * Up to 10 messages a call, at most one per message group in any one call, so that a partial
     * failure never lets a later message of a conversation overtake an earlier one: the entries
     * the queue refused for a reason of its own are sent again (up to {@link MAX_BATCH_ATTEMPTS}
     * times), before anything after them in their group. An entry refused as the sender's fault
     * fails the whole call, naming it.
     */
    async enqueueAll(messages) {
      const pending = messages.map((message, index) => ({ message, id: String(index), group: messageGroupId(message), attempts: 0 }));
      while (pending.length) {
        // The first waiting message of each of (up to) ten groups.
        const groups = new Set<string>();
        const batch: typeof pending = [];
        for (const entry of pending) {
          if (groups.has(entry.group)) continue;
          groups.add(entry.group);
          batch.push(entry);
          if (batch.length === 10) break;
        }
        const result = await sendTwice(() =>
          client.sendMessageBatch({
            QueueUrl: queueUrl,
            Entries: batch.map((entry) => ({
              Id: entry.id,
              MessageBody: sqsSafeJson(entry.message),
              MessageGroupId: entry.group,
              MessageDeduplicationId: deduplicationId(entry.message),
            })),
          }),
        );
        const failed = new Map((result.Failed ?? []).map((failure) => [failure.Id, failure]));
        for (const entry of batch) {
          const failure = failed.get(entry.id);
          if (!failure) {
            pending.splice(pending.indexOf(entry), 1);
            continue;
          }
          entry.attempts++;
          if (failure.SenderFault || entry.attempts >= MAX_BATCH_ATTEMPTS) {
            throw Object.assign(new Error(`the queue refused message ${entry.id} of the batch: ${failure.Code ?? "unknown"}`), {
              $metadata: { httpStatusCode: failure.SenderFault ? 400 : 503 },
            });
          }
        }
      }
    },
    async checkReady() {
      await client.getQueueAttributes({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] });
    },
  };
}

/** How often one entry of a batch is sent before the whole call fails (the provider then retries it). */
export const MAX_BATCH_ATTEMPTS = 3;

/** Several messages in order: one batch call where the queue can, else one message at a time. */
export async function enqueueInOrder(queue: InboundQueue, messages: InboundMessage[]): Promise<void> {
  if (messages.length > 1 && queue.enqueueAll) return queue.enqueueAll(messages);
  for (const message of messages) await queue.enqueue(message);
}

/**
 * JSON for an SQS message body. SQS accepts only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF, and the local emulator nothing outside the Basic Multilingual Plane, so every
 * UTF-16 surrogate (an emoji's pair, or a lone one) and U+FFFE/U+FFFF is written as a `\uXXXX`
 * escape, which JSON.parse turns back into the same string. (JSON.stringify already escapes the
 * control characters below U+0020.)
 *
 * @example sqsSafeJson({ text: "hi 👋" }) // '{"text":"hi \\ud83d\\udc4b"}'
 */
export function sqsSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\ud800-\udfff\ufffe\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
