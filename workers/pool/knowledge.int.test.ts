import { randomUUID } from "node:crypto";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KnowledgeStore } from "../../core/knowledge/store";
import { createLogger, type Logger } from "../../core/observability/log";
import { sqsClientFor, startSqs, type SqsHandle } from "../../scripts/stack/sqs";
import { createKnowledgeJobConsumer, KNOWLEDGE_RECEIVES_IN_FLIGHT } from "./knowledge";

/**
 * The knowledge job consumer on the SQS emulator's FIFO queue, with its receive loops: jobs of one
 * source (one FIFO group) run one at a time in the order they were sent, while different sources'
 * jobs run side by side. The store records what it is asked to do (delete jobs need nothing else).
 * Like SQS, the emulator returns nothing of a group while one of its messages is in flight; unlike
 * SQS it returns at most one message of a group per receive, so several of one group in a single
 * receive is inGroupOrder's unit test (knowledge.test.ts).
 */
let sqs: SqsHandle;
let client: SQSClient;

// An emulator per test: a stopped consumer's aborted long poll can still be handed the next test's
// messages, which then stay in flight for the visibility timeout (as on SQS).
beforeEach(async () => {
  sqs = await startSqs({ queuePrefix: "knowledge-consumer-" });
  client = sqsClientFor(sqs);
});

afterEach(async () => {
  client?.destroy();
  await sqs?.stop();
});

/** Runs the consumer on the emulator's job queue with `store` (jobs that need nothing else) until `done` settles. */
async function consumeUntil(done: Promise<void>, store: KnowledgeStore, logger: Logger): Promise<void> {
  const consumer = createKnowledgeJobConsumer({
    sqs: client,
    queueUrl: sqs.knowledgeJobsQueueUrl,
    deps: { db: undefined as never, store, fetchUrl: undefined as never, embeddingCredentials: undefined as never, logger },
    logger,
    waitTimeSeconds: 1,
  });
  consumer.start();
  try {
    await done;
  } finally {
    consumer.stop();
  }
}

describe("createKnowledgeJobConsumer", () => {
  it("keeps each source's jobs in order and one at a time across its receive loops, and runs sources side by side", async () => {
    expect(KNOWLEDGE_RECEIVES_IN_FLIGHT).toBeGreaterThan(1);
    const tenantId = randomUUID();
    const knowledgeBaseId = randomUUID();
    const sources = Array.from({ length: 4 }, () => randomUUID());
    const perSource = 8;
    const epoch = Date.UTC(2026, 0, 1);
    // Interleaved as an upload of several files would be: a1 b1 c1 d1 a2 b2 …
    const jobs = Array.from({ length: perSource }, (_, seq) =>
      sources.map((sourceId) => ({
        version: 1,
        kind: "knowledge.delete_source",
        tenantId,
        knowledgeBaseId,
        sourceId,
        requestedAt: new Date(epoch + seq).toISOString(),
      })),
    ).flat();
    for (let i = 0; i < jobs.length; i += 10) {
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl: sqs.knowledgeJobsQueueUrl,
          Entries: jobs.slice(i, i + 10).map((job, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(job),
            MessageGroupId: `${tenantId}:${job.sourceId}`,
            MessageDeduplicationId: `${job.sourceId}:${job.requestedAt}`,
          })),
        }),
      );
    }

    const ran = new Map<string, number[]>(sources.map((sourceId) => [sourceId, []]));
    const active = new Map<string, number>();
    let activeOverall = 0;
    let mostAtOnce = 0;
    let overlapsWithinSource = 0;
    let finish!: () => void;
    const allRan = new Promise<void>((resolve) => (finish = resolve));
    const store = {
      async deleteSourceChunks(job: { sourceId: string; requestedAt?: string }) {
        const now = (active.get(job.sourceId) ?? 0) + 1;
        active.set(job.sourceId, now);
        if (now > 1) overlapsWithinSource++;
        mostAtOnce = Math.max(mostAtOnce, ++activeOverall);
        // Long enough for the other loop's receive to come back while this job runs.
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
        active.set(job.sourceId, now - 1);
        activeOverall--;
        ran.get(job.sourceId)!.push(Date.parse(String(job.requestedAt)) - epoch);
        if ([...ran.values()].every((seqs) => seqs.length === perSource)) finish();
      },
    } as unknown as KnowledgeStore;
    await consumeUntil(allRan, store, createLogger({ test: "knowledge-consumer" }, "error"));
    for (const seqs of ran.values()) expect(seqs).toEqual(Array.from({ length: perSource }, (_, seq) => seq));
    expect(overlapsWithinSource).toBe(0);
    expect(mostAtOnce).toBeGreaterThan(1);
  });

  it("logs and drops a malformed job, so the source's next job runs instead of waiting behind it", async () => {
    const tenantId = randomUUID();
    const sourceId = randomUUID();
    const group = `${tenantId}:${sourceId}`;
    const valid = {
      version: 1,
      kind: "knowledge.delete_source",
      tenantId,
      knowledgeBaseId: randomUUID(),
      sourceId,
      requestedAt: new Date().toISOString(),
    };
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: sqs.knowledgeJobsQueueUrl,
        Entries: [
          { Id: "not-json", MessageBody: "{ not json", MessageGroupId: group, MessageDeduplicationId: "not-json" },
          {
            Id: "bad-tenant",
            MessageBody: JSON.stringify({ ...valid, tenantId: "../other" }),
            MessageGroupId: group,
            MessageDeduplicationId: "bad-tenant",
          },
          { Id: "valid", MessageBody: JSON.stringify(valid), MessageGroupId: group, MessageDeduplicationId: "valid" },
        ],
      }),
    );
    const events: string[] = [];
    const logger: Logger = { log: (_level, event) => void events.push(event), child: () => logger };
    let finish!: () => void;
    const deleted = new Promise<void>((resolve) => (finish = resolve));
    const store = { deleteSourceChunks: async () => finish() } as unknown as KnowledgeStore;
    // The emulator hands out the group's next message only once the one before is deleted.
    await consumeUntil(deleted, store, logger);
    expect(events.filter((event) => event === "knowledge.job_malformed")).toHaveLength(2);
  });
});
