import { integrationConfig } from "../../core/integrations/config";
import { billingConfig } from "../../core/billing/config";
import { parseKeyring } from "../../core/crypto/secrets";
import { readModelEnvironment } from "../../core/engine/providers";
import { createTransport } from "nodemailer";
import { createMailSender } from "./mail";
import { describeError } from "../../core/observability/log";
import { createSqsClient, createSqsInboundQueue, sqsOverSdk } from "../../core/queue/sqs";
import { createPoolDb } from "../../db/client";
import { loadPoolConfig } from "./config";
import { createInboundConsumer } from "./consumer";
import { resolveDeadLetterTarget } from "./dead-letter";
import { withErrorReporting } from "./error-reporting";
import { dependencyChecks, startHealthServer } from "./health";
import { startPeriodicJobs } from "./jobs";
import { createPoolLogger } from "./logger";
import { createPoolMetrics } from "./metrics";
import { startToolRunner } from "./tool-runner";
import { createSafeFetch } from "../../core/http/safe-fetch";
import { parseHostList } from "../../core/http/url-policy";
import { OAuthTokenCache } from "../../core/tools/execute";
import { KnowledgeStore } from "../../core/knowledge/store";
import { retrieveKnowledge, type KnowledgeDependencies } from "../../core/knowledge/service";
import { createUrlFetcher } from "../../core/knowledge/url-fetch";
import { createConversationMemory } from "../../core/knowledge/memory";
import { createKnowledgeJobConsumer, embeddingCredentialsFrom } from "./knowledge";
import { createS3Client, deletePrefix, s3SettingsFrom } from "../../core/storage/s3";
import { reindex } from "../../core/knowledge/reindex";
import type { TurnDependencies } from "./turn/types";
import { runAgentTestSuite } from "./test-runs";

/**
 * The worker pool process: consumes the inbound queue, runs turns, serves health checks.
 * SIGTERM/SIGINT stop polling, give in-flight turns until POOL_SHUTDOWN_TIMEOUT_SECONDS to finish,
 * put back on the queue whatever did not, then close connections and exit.
 */
async function main() {
  const config = loadPoolConfig(process.env);
  const reporting = withErrorReporting(createPoolLogger({ service: "pool", pid: process.pid }, config.LOG_LEVEL), {
    dsn: config.SENTRY_DSN,
    environment: config.SENTRY_ENVIRONMENT,
  });
  const logger = reporting.logger;
  const metrics = createPoolMetrics();
  const database = createPoolDb(config.DATABASE_URL, {
    applicationName: "agent-pool",
    max: config.DATABASE_POOL_MAX,
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS === "on",
  });
  // A connection that breaks while checked out (database restart, failover) emits 'error' on its
  // client; unhandled, that would end the process. The query in flight fails and the turn retries.
  database.pool.on("connect", (client) => {
    client.on("error", (error) => logger.log("warn", "pool.database_connection_lost", describeError(error)));
  });
  const sqs = createSqsClient({
    region: config.SQS_REGION,
    endpoint: config.SQS_ENDPOINT,
    accessKeyId: config.SQS_ACCESS_KEY_ID,
    secretAccessKey: config.SQS_SECRET_ACCESS_KEY,
  });

  const inboundQueue = createSqsInboundQueue(sqsOverSdk(sqs), config.INBOUND_QUEUE_URL);
  const checks = dependencyChecks({ db: database.db, sqs, queueUrl: config.INBOUND_QUEUE_URL, chromaUrl: config.CHROMA_URL });
  const deadLetter = await resolveDeadLetterTarget(sqs, config.INBOUND_QUEUE_URL, {
    queueUrl: config.DEAD_LETTER_QUEUE_URL,
    maxReceiveCount: config.POOL_MAX_RECEIVE_COUNT,
  });
  if (!deadLetter) logger.log("warn", "pool.no_dead_letter_queue", { queueUrl: config.INBOUND_QUEUE_URL });

  const keyring = parseKeyring(config.SECRETS_KEYRING);
  // Tenant HTTP tools: one SSRF-safe client and one OAuth2 token cache for the process.
  const toolRuntime = {
    fetch: createSafeFetch({
      allowedHosts: parseHostList(config.TOOLS_ALLOWED_HOSTS),
      ...(config.TOOLS_ALLOWED_PORTS ? { allowedPorts: config.TOOLS_ALLOWED_PORTS.split(",").map(Number) } : {}),
    }),
    tokens: new OAuthTokenCache(),
  };
  const modelEnv = readModelEnvironment(process.env);
  const billing = billingConfig(config);
  // Knowledge (RAG): with Chroma, turns retrieve the agent's knowledge and the pool runs ingestion jobs.
  const knowledge: KnowledgeDependencies | undefined = config.CHROMA_URL
    ? {
        db: database.db,
        store: KnowledgeStore.connect(config.CHROMA_URL),
        fetchUrl: createUrlFetcher(),
        embeddingCredentials: embeddingCredentialsFrom(database.db, keyring, modelEnv),
        logger,
      }
    : undefined;
  // Whole-tenant exports and imports: archives staged in the task's /tmp, stored in EXPORTS_BUCKET.
  const objects = createS3Client(s3SettingsFrom(config, config.SQS_REGION));
  const data = config.EXPORTS_BUCKET
    ? {
        db: database.db,
        s3: objects,
        bucket: config.EXPORTS_BUCKET,
        logger,
        // An imported tenant answers from its knowledge and memory at once: its collections are built from the imported rows.
        ...(knowledge
          ? {
              afterImport: async (tenantId: string) => {
                await reindex(knowledge, { tenantIds: [tenantId] });
              },
            }
          : {}),
      }
    : undefined;
  const knowledgeJobs =
    knowledge && config.KNOWLEDGE_JOBS_QUEUE_URL
      ? createKnowledgeJobConsumer({
          sqs,
          queueUrl: config.KNOWLEDGE_JOBS_QUEUE_URL,
          deps: knowledge,
          ...(data ? { data } : {}),
          logger,
          waitTimeSeconds: config.POOL_WAIT_TIME_SECONDS,
          onJob: metrics.ingestionJob,
          backoff: { baseMs: config.POOL_BACKOFF_BASE_MS, maxMs: config.POOL_BACKOFF_MAX_MS },
          ready: async () => {
            await checks.database!();
            await checks.chroma?.();
          },
        })
      : undefined;

  const turnDeps: TurnDependencies = {
    db: database.db,
    keyring,
    metrics: metrics.turn,
    telegramApiBase: config.TELEGRAM_API_BASE,
    whatsappApiBase: config.WHATSAPP_API_BASE,
    twilioApiBase: config.TWILIO_API_BASE,
    s3ApiBase: config.S3_API_BASE,
    sendMail: createMailSender({ allowedHosts: parseHostList(config.SMTP_ALLOWED_HOSTS) }, { sesApiBase: config.SES_API_BASE }),
    // Flushes of merged rapid messages go back onto the same queue.
    enqueue: (message) => inboundQueue.enqueue(message),
    modelEnv,
    logger,
    ...(knowledge
      ? {
          knowledge: (request: Parameters<typeof retrieveKnowledge>[1]) => retrieveKnowledge(knowledge, request),
          memory: createConversationMemory(knowledge.store),
        }
      : {}),
    tools: toolRuntime,
    integrations: integrationConfig(config),
    plans: billing.plans,
  };

  const consumer = createInboundConsumer({
    sqs,
    queueUrl: config.INBOUND_QUEUE_URL,
    batchSize: config.POOL_BATCH_SIZE,
    concurrency: config.POOL_CONCURRENCY,
    visibilityTimeout: config.POOL_VISIBILITY_TIMEOUT,
    waitTimeSeconds: config.POOL_WAIT_TIME_SECONDS,
    deadLetter,
    checks,
    backoff: { baseMs: config.POOL_BACKOFF_BASE_MS, maxMs: config.POOL_BACKOFF_MAX_MS },
    logger,
    metrics,
    deps: turnDeps,
  });
  const toolRunner =
    config.POOL_TOOL_RUNNER_PORT === undefined
      ? undefined
      : await startToolRunner({
          port: config.POOL_TOOL_RUNNER_PORT,
          db: database.db,
          keyring,
          signingKey: config.SECRETS_KEYRING,
          runtime: toolRuntime,
          logger,
          ...(knowledge ? { knowledge: (request: Parameters<typeof retrieveKnowledge>[1]) => retrieveKnowledge(knowledge, request) } : {}),
          testRuns: (run) => runAgentTestSuite(turnDeps, run),
        });

  const health = await startHealthServer(
    config.POOL_PORT,
    {
      ...checks,
      consumer: async () => {
        if (consumer.draining) throw new Error("draining");
      },
    },
    { metrics: metrics.registry },
  );
  // Analytics rollups, tenant alert rules and retention (workers/pool/jobs.ts).
  const jobs =
    config.POOL_JOBS_INTERVAL_SECONDS > 0
      ? startPeriodicJobs({
          db: database.db,
          logger,
          intervalMs: config.POOL_JOBS_INTERVAL_SECONDS * 1000,
          alerting: {
            db: database.db,
            keyring,
            safeFetch: createSafeFetch({ allowedHosts: parseHostList(config.ALERTS_WEBHOOK_ALLOWED_HOSTS) }),
            ...(config.ALERTS_SMTP_URL ? { mailer: createTransport(config.ALERTS_SMTP_URL) } : {}),
            emailFrom: config.ALERTS_EMAIL_FROM,
            logger,
            onDelivery: metrics.alertDelivery,
          },
          purge: {
            db: database.db,
            ...(knowledge ? { store: knowledge.store } : {}),
            ...(data ? { objects: { deletePrefix: (prefix: string) => deletePrefix(objects, data.bucket, prefix) } } : {}),
          },
          billing: { db: database.db, billing, logger },
          retention: {
            db: database.db,
            ...(knowledge ? { forgetBefore: (tenantId: string, cutoff: Date) => knowledge.store.forgetTurnsBefore(tenantId, cutoff) } : {}),
          },
        })
      : undefined;
  consumer.start();
  knowledgeJobs?.start();
  logger.log("info", "pool.started", {
    healthPort: health.port,
    concurrency: config.POOL_CONCURRENCY,
    maxReceiveCount: deadLetter?.maxReceiveCount,
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log("info", "pool.stopping", { signal });
    knowledgeJobs?.stop();
    const { finished, released } = await consumer.stop(config.POOL_SHUTDOWN_TIMEOUT_SECONDS * 1000);
    logger.log("info", "pool.drained", { finished, released });
    await jobs?.stop();
    await toolRunner?.close();
    await health.close();
    await database.close();
    logger.log("info", "pool.stopped");
    await reporting.flush();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  console.error(JSON.stringify({ level: "error", event: "pool.crashed", ...describeError(error) }));
  process.exit(1);
});
