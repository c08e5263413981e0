import { z } from "zod";
import { sha256Hex } from "../crypto/hmac";
import { sqsSafeJson, type SqsSend } from "../queue/sqs";

/**
 * Messages on the knowledge jobs queue (`knowledge-jobs.fifo`, its own dead-letter queue), which the
 * pool consumes beside the inbound queue. A separate queue keeps slow ingestion (parsing, embedding
 * thousands of chunks) from delaying conversations and keeps this contract apart from the inbound
 * message kinds. Group = the source (or base), so jobs of one source run in order.
 */
/** Ids one `knowledge.forget` job carries (a message well under SQS's 256 KB); more go in several jobs. */
export const FORGET_BATCH = 500;

export const knowledgeJob = z.discriminatedUnion("kind", [
  z.object({ version: z.literal(1), kind: z.literal("knowledge.ingest"), tenantId: z.uuid(), sourceId: z.uuid(), requestedAt: z.string() }),
  z.object({
    version: z.literal(1),
    kind: z.literal("knowledge.delete_source"),
    tenantId: z.uuid(),
    knowledgeBaseId: z.uuid(),
    sourceId: z.uuid(),
    requestedAt: z.string(),
  }),
  z.object({
    version: z.literal(1),
    kind: z.literal("knowledge.delete_base"),
    tenantId: z.uuid(),
    knowledgeBaseId: z.uuid(),
    requestedAt: z.string(),
  }),
  /** An erased end user (core/contacts/contacts.ts): their turns in conversation memory, by end user and by conversation. */
  z.object({
    version: z.literal(1),
    kind: z.literal("knowledge.forget"),
    tenantId: z.uuid(),
    endUsers: z.array(z.string().min(1).max(400)).max(FORGET_BATCH),
    conversationIds: z.array(z.uuid()).max(FORGET_BATCH),
    requestedAt: z.string(),
  }),
  /** A whole-tenant export or import (core/data): slow jobs like ingestion, so they share this queue. */
  z.object({ version: z.literal(1), kind: z.literal("data.export"), tenantId: z.uuid(), transferId: z.uuid(), requestedAt: z.string() }),
  z.object({ version: z.literal(1), kind: z.literal("data.import"), tenantId: z.uuid(), transferId: z.uuid(), requestedAt: z.string() }),
]);
export type KnowledgeJob = z.infer<typeof knowledgeJob>;
/** The whole-tenant export and import jobs this queue also carries (run by core/data/jobs.ts). */
export type DataJob = Extract<KnowledgeJob, { kind: "data.export" | "data.import" }>;

export function isDataJob(job: KnowledgeJob): job is DataJob {
  return job.kind === "data.export" || job.kind === "data.import";
}

type Distribute<T> = T extends unknown ? Omit<T, "version" | "requestedAt"> : never;
export type KnowledgeJobRequest = Distribute<KnowledgeJob>;

/** What the admin API needs to hand work to the pool. */
export interface KnowledgeJobQueue {
  enqueue(job: KnowledgeJobRequest): Promise<void>;
}

export function createSqsKnowledgeJobQueue(client: SqsSend, queueUrl: string): KnowledgeJobQueue {
  return {
    async enqueue(request) {
      const job = { version: 1, ...request, requestedAt: new Date().toISOString() } as KnowledgeJob;
      const group =
        "transferId" in job ? job.transferId : "sourceId" in job ? job.sourceId : "knowledgeBaseId" in job ? job.knowledgeBaseId : "memory";
      await client.sendMessage({
        QueueUrl: queueUrl,
        MessageBody: sqsSafeJson(job),
        MessageGroupId: `${job.tenantId}:${group}`,
        // Forget jobs of one request differ by content only (one per batch of ids).
        MessageDeduplicationId:
          job.kind === "knowledge.forget"
            ? `${job.kind}:${(await sha256Hex(JSON.stringify([job.endUsers, job.conversationIds]))).slice(0, 40)}:${job.requestedAt}`.slice(
                0,
                128,
              )
            : // A repeated export or import request within SQS's five minutes is one job; later ones queue behind it in its group and find it done.
              "transferId" in job
              ? `${job.kind}:${job.transferId}`
              : `${job.kind}:${group}:${job.requestedAt}`,
      });
    },
  };
}
