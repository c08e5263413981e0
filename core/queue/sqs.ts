import { GetQueueAttributesCommand, SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { deduplicationId, messageGroupId, type InboundMessage } from "./inbound-message";

export interface SqsConfig {
  region: string;
  /** Unset in production (the SDK derives it from the region); a loopback URL locally. */
  endpoint?: string | undefined;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What the edge needs from the queue; tests and other runtimes can supply their own. */
export interface InboundQueue {
  enqueue(message: InboundMessage): Promise<void>;
  /** Resolves when the queue answers; for readiness checks. */
  checkReady(): Promise<void>;
}

export function createSqsClient(config: SqsConfig): SQSClient {
  return new SQSClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    maxAttempts: 3,
  });
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
export function createSqsInboundQueue(client: SQSClient, queueUrl: string): InboundQueue {
  return {
    async enqueue(message) {
      const command = new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: sqsSafeJson(message),
        MessageGroupId: messageGroupId(message),
        MessageDeduplicationId: deduplicationId(message),
      });
      try {
        await client.send(command);
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status !== undefined && status < 500) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
        await client.send(command);
      }
    },
    async checkReady() {
      await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }));
    },
  };
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
