import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import { eq } from "drizzle-orm";
import { Consumer } from "sqs-consumer";
import type { Keyring } from "../../core/crypto/secrets";
import { openProviderKeys } from "../../core/engine/credentials";
import type { ResolvedModelEnvironment } from "../../core/engine/providers";
import type { EmbeddingCredentials } from "../../core/knowledge/embeddings";
import { runDataJob } from "../../core/data/jobs";
import type { DataTransferDependencies } from "../../core/data/export";
import { isDataJob, knowledgeJob } from "../../core/knowledge/jobs";
import { runKnowledgeJob, type KnowledgeDependencies } from "../../core/knowledge/service";
import { describeError, type Logger } from "../../core/observability/log";
import { readTenantSettings } from "../../core/tenants/settings";
import type { Database } from "../../db/client";
import { tenants } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { backoffDelay, sleep } from "./backoff";
import { byGroup } from "./consumer";
import { DEFAULT_MAX_RECEIVES } from "./turn/types";

/**
 * Keys for hosted embedding models: the tenant's own (sealed in its settings), else the platform's
 * from the environment, with the same base URLs the chat models use.
 */
export function embeddingCredentialsFrom(db: Database, keyring: Keyring, env: ResolvedModelEnvironment) {
  return async (tenantId: string): Promise<EmbeddingCredentials> => {
    const [tenant] = await withTenant(db, tenantId, (tx) =>
      tx.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, tenantId)),
    );
    const { credentials } = await openProviderKeys(keyring, tenantId, readTenantSettings(tenant?.settings));
    const openai = credentials.openai ?? env.OPENAI_API_KEY;
    const gemini = credentials.gemini ?? env.GEMINI_API_KEY;
    return {
      ...(openai ? { openai: { apiKey: openai, baseUrl: env.OPENAI_BASE_URL } } : {}),
      ...(gemini ? { gemini: { apiKey: gemini, baseUrl: env.GEMINI_BASE_URL } } : {}),
    };
  };
}

/**
 * Jobs taken per receive (SQS's most), run side by side except within a FIFO group. Many sources of
 * one base (an upload of several files, a crawl) are then indexed together, and their Chroma writes
 * coalesce (`KnowledgeStore.replaceSourceChunks`).
 */
export const KNOWLEDGE_JOBS_PER_RECEIVE = 10;

/**
 * Receive loops per pool process. sqs-consumer waits for a whole batch before its next receive, so
 * with one loop a batch's slowest job holds the rest back; with two, one batch's database and
 * embedding work overlaps the other's Chroma writes, which then carry more sources each. FIFO keeps
 * a group's order across loops: SQS returns nothing of a group while a message of it is in flight.
 */
export const KNOWLEDGE_RECEIVES_IN_FLIGHT = 2;

/**
 * Runs a received batch as FIFO allows: groups side by side, the messages of one group one after
 * another in the queue's order (Amazon SQS returns several of a group in one receive). A message
 * whose run fails holds back the rest of its group, which then comes again after it. Resolves with
 * the messages that ran, for deletion.
 */
export async function inGroupOrder(batch: Message[], run: (message: Message) => Promise<boolean>): Promise<Message[]> {
  const ran: Message[] = [];
  await Promise.all(
    [...byGroup(batch).values()].map(async (messages) => {
      for (const message of messages) {
        if (!(await run(message))) return;
        ran.push(message);
      }
    }),
  );
  return ran;
}

/**
 * Consumes the knowledge jobs queue: one job at a time per source (FIFO group), up to
 * `KNOWLEDGE_JOBS_PER_RECEIVE` × `KNOWLEDGE_RECEIVES_IN_FLIGHT` in parallel.
 * A job that throws (Chroma or the database unreachable) stays on the queue and is retried after
 * its visibility timeout; its last allowed receive marks the source failed, then SQS's redrive
 * parks it in `knowledge-jobs-dlq.fifo`. A malformed message is logged and dropped. Before each
 * receive the pool's readiness checks (database, Chroma) must pass, with backoff, so an outage
 * neither spins nor spends the jobs' receives (as the inbound consumer does).
 */
export function createKnowledgeJobConsumer(options: {
  sqs: SQSClient;
  queueUrl: string;
  deps: KnowledgeDependencies;
  /** Whole-tenant exports and imports (`data.*` jobs); absent without an exports bucket. */
  data?: DataTransferDependencies;
  logger: Logger;
  maxReceives?: number;
  visibilityTimeout?: number;
  waitTimeSeconds?: number;
  /** Counts finished jobs (the pool's `agent_ingestion_jobs_total`). */
  onJob?: (outcome: "succeeded" | "failed") => void;
  /** Resolves when the jobs' dependencies answer; rejects otherwise. */
  ready?: () => Promise<void>;
  backoff?: { baseMs: number; maxMs: number };
}) {
  const maxReceives = options.maxReceives ?? DEFAULT_MAX_RECEIVES;
  const stopping = new AbortController();
  const waitUntilReady = async () => {
    for (let attempt = 0; options.ready && !stopping.signal.aborted; attempt++) {
      try {
        await options.ready();
        if (attempt > 0) options.logger.log("info", "knowledge.resumed");
        return;
      } catch (error) {
        if (attempt === 0) options.logger.log("warn", "knowledge.paused", describeError(error));
        await sleep(backoffDelay(attempt, options.backoff ?? { baseMs: 500, maxMs: 30_000 }), stopping.signal);
      }
    }
  };
  /** Runs one job; false when it failed and must stay on the queue. */
  const runJob = async (message: Message): Promise<boolean> => {
    let parsed;
    try {
      parsed = knowledgeJob.parse(JSON.parse(message.Body ?? ""));
    } catch {
      options.logger.log("error", "knowledge.job_malformed", { messageId: message.MessageId });
      return true;
    }
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? "1");
    try {
      const lastAttempt = receiveCount >= maxReceives;
      const outcome = isDataJob(parsed)
        ? await runDataJob(options.data, options.deps.db, parsed, { lastAttempt })
        : await runKnowledgeJob(options.deps, parsed, { lastAttempt });
      options.logger.log("info", "knowledge.job_done", { kind: parsed.kind, tenantId: parsed.tenantId, outcome });
      options.onJob?.("succeeded");
      return true;
    } catch (error) {
      options.logger.log("warn", "knowledge.job_failed", {
        kind: parsed.kind,
        tenantId: parsed.tenantId,
        receiveCount,
        ...describeError(error),
      });
      options.onJob?.("failed");
      return false;
    }
  };
  const consumers = Array.from({ length: KNOWLEDGE_RECEIVES_IN_FLIGHT }, () =>
    Consumer.create({
      sqs: options.sqs,
      queueUrl: options.queueUrl,
      batchSize: KNOWLEDGE_JOBS_PER_RECEIVE,
      visibilityTimeout: options.visibilityTimeout ?? 120,
      heartbeatInterval: Math.max(1, Math.floor((options.visibilityTimeout ?? 120) / 3)),
      waitTimeSeconds: options.waitTimeSeconds ?? 20,
      messageSystemAttributeNames: ["MessageGroupId", "ApproximateReceiveCount"],
      suppressFifoWarning: true,
      preReceiveMessageCallback: waitUntilReady,
      // The jobs that succeeded are deleted; the others come back after the visibility timeout.
      handleMessageBatch: (batch) => inGroupOrder(batch, runJob),
    }),
  );
  for (const consumer of consumers)
    consumer.on("error", (error) => options.logger.log("warn", "knowledge.receive_failed", describeError(error)));
  return {
    start: () => consumers.forEach((consumer) => consumer.start()),
    stop: () => {
      stopping.abort();
      consumers.forEach((consumer) => consumer.stop({ abort: true }));
    },
  };
}
