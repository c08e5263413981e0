import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { buildApp } from "fauxqs";
import { createS3Client } from "../../core/storage/s3";

export interface SqsOptions {
  /** Port on 127.0.0.1; 0 or absent lets the kernel choose. */
  port?: number;
  /** Prepended to the queue names, so several stacks (or tests) can share one emulator. */
  queuePrefix?: string;
  /** Fastify request logging; noisy, so off by default. */
  logger?: boolean;
}

export interface SqsHandle {
  /** `http://127.0.0.1:PORT`, also the SDK `endpoint`. */
  url: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  inboundQueueUrl: string;
  deadLetterQueueUrl: string;
  /** Knowledge ingestion jobs (FIFO) and their own dead-letter queue. */
  knowledgeJobsQueueUrl: string;
  knowledgeJobsDeadLetterQueueUrl: string;
  stop(): Promise<void>;
}

/** Same as production: after five failed deliveries a message is parked in the DLQ. */
export const MAX_RECEIVE_COUNT = 5;
const REGION = "us-east-1";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

/**
 * Starts the fauxqs SQS emulator in this process, bound to 127.0.0.1 only (its own CLI and
 * `startFauxqs` listen on every interface), and creates the inbound FIFO queue with its
 * dead-letter queue the way production has them. CreateQueue is idempotent.
 *
 * @example
 * const sqs = await startSqs({});
 * const { endpoint, region, accessKeyId, secretAccessKey } = sqs;
 * const client = new SQSClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey } });
 *
 * Queue urls look like `http://sqs.us-east-1.localhost:PORT/000000000000/inbound.fifo`: fauxqs
 * matches them as opaque strings. Always send requests to `endpoint` (the SDK does once an
 * `endpoint` is configured); `*.localhost` names may not resolve everywhere.
 */
export async function startSqs(options: SqsOptions = {}): Promise<SqsHandle> {
  const app = buildApp({ logger: options.logger ?? false, defaultRegion: REGION });
  const address = await app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  const endpoint = address.replace("localhost", "127.0.0.1");
  try {
    const client = new SQSClient({ endpoint, region: REGION, credentials: { ...CREDENTIALS } });
    const prefix = options.queuePrefix ?? "";
    const queues = await createInboundQueues(client, prefix);
    const knowledge = await createFifoWithDeadLetter(client, `${prefix}knowledge-jobs`);
    client.destroy();
    return {
      url: endpoint,
      endpoint,
      region: REGION,
      ...CREDENTIALS,
      ...queues,
      knowledgeJobsQueueUrl: knowledge.queueUrl,
      knowledgeJobsDeadLetterQueueUrl: knowledge.deadLetterQueueUrl,
      stop: () => app.close(),
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}

async function createInboundQueues(client: SQSClient, prefix: string): Promise<{ inboundQueueUrl: string; deadLetterQueueUrl: string }> {
  const fifo = { FifoQueue: "true", ContentBasedDeduplication: "false" };
  const dlq = await client.send(new CreateQueueCommand({ QueueName: `${prefix}inbound-dlq.fifo`, Attributes: fifo }));
  const deadLetterQueueUrl = required(dlq.QueueUrl, "dead-letter queue url");
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ["QueueArn"] }));
  const redrivePolicy = JSON.stringify({
    deadLetterTargetArn: required(Attributes?.QueueArn, "dead-letter queue arn"),
    maxReceiveCount: MAX_RECEIVE_COUNT,
  });
  const inbound = await client.send(
    new CreateQueueCommand({
      QueueName: `${prefix}inbound.fifo`,
      Attributes: { ...fifo, RedrivePolicy: redrivePolicy },
    }),
  );
  return { inboundQueueUrl: required(inbound.QueueUrl, "inbound queue url"), deadLetterQueueUrl };
}

/** `<name>.fifo` with `<name>-dlq.fifo` behind it (same redrive count as the inbound queue). */
async function createFifoWithDeadLetter(client: SQSClient, name: string): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const fifo = { FifoQueue: "true", ContentBasedDeduplication: "false" };
  const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: fifo }));
  const deadLetterQueueUrl = required(dlq.QueueUrl, `${name} dead-letter queue url`);
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ["QueueArn"] }));
  const RedrivePolicy = JSON.stringify({
    deadLetterTargetArn: required(Attributes?.QueueArn, `${name} dead-letter queue arn`),
    maxReceiveCount: MAX_RECEIVE_COUNT,
  });
  const queue = await client.send(new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { ...fifo, RedrivePolicy } }));
  return { queueUrl: required(queue.QueueUrl, `${name} queue url`), deadLetterQueueUrl };
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`fauxqs did not return the ${what}`);
  return value;
}

/** The queue settings both the edge (as vars) and the pool (as environment) read. */
export function sqsEnvironment(sqs: SqsHandle): Record<string, string> {
  return {
    SQS_ENDPOINT: sqs.endpoint,
    SQS_REGION: sqs.region,
    SQS_ACCESS_KEY_ID: sqs.accessKeyId,
    SQS_SECRET_ACCESS_KEY: sqs.secretAccessKey,
    INBOUND_QUEUE_URL: sqs.inboundQueueUrl,
    KNOWLEDGE_JOBS_QUEUE_URL: sqs.knowledgeJobsQueueUrl,
  };
}

/** An SDK client for the emulator, for scripts and tests that inspect or feed the queues. */
export function sqsClientFor(sqs: SqsHandle): SQSClient {
  return new SQSClient({
    endpoint: sqs.endpoint,
    region: sqs.region,
    credentials: { accessKeyId: sqs.accessKeyId, secretAccessKey: sqs.secretAccessKey },
  });
}

/** The bucket tenant exports go to in the emulator's S3 (core/data). */
export const LOCAL_EXPORTS_BUCKET = "tenant-exports";

/**
 * The exports bucket in the emulator's S3 (made here, idempotently) and the settings the edge
 * (presigned download links) and the pool (writing archives) read.
 */
export async function exportsEnvironment(sqs: SqsHandle): Promise<Record<string, string>> {
  const s3 = createS3Client({
    region: sqs.region,
    endpoint: sqs.endpoint,
    accessKeyId: sqs.accessKeyId,
    secretAccessKey: sqs.secretAccessKey,
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_EXPORTS_BUCKET })).catch((error: unknown) => {
      if ((error as { name?: string }).name !== "BucketAlreadyOwnedByYou") throw error;
    });
  } finally {
    s3.destroy();
  }
  return {
    EXPORTS_BUCKET: LOCAL_EXPORTS_BUCKET,
    S3_API_BASE: sqs.endpoint,
    S3_REGION: sqs.region,
    S3_ACCESS_KEY_ID: sqs.accessKeyId,
    S3_SECRET_ACCESS_KEY: sqs.secretAccessKey,
  };
}
