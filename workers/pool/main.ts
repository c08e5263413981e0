import { parseKeyring } from "../../core/crypto/secrets";
import { readModelEnvironment } from "../../core/engine/providers";
import { createLogger, describeError } from "../../core/observability/log";
import { createSqsClient } from "../../core/queue/sqs";
import { createPoolDb } from "../../db/client";
import { loadPoolConfig } from "./config";
import { createInboundConsumer } from "./consumer";
import { resolveDeadLetterTarget } from "./dead-letter";
import { dependencyChecks, startHealthServer } from "./health";

/**
 * The worker pool process: consumes the inbound queue, runs turns, serves health checks.
 * SIGTERM/SIGINT stop polling, give in-flight turns until POOL_SHUTDOWN_TIMEOUT_SECONDS to finish,
 * put back on the queue whatever did not, then close connections and exit.
 */
async function main() {
  const config = loadPoolConfig(process.env);
  const logger = createLogger({ service: "pool", pid: process.pid }, config.LOG_LEVEL);
  const database = createPoolDb(config.DATABASE_URL, { applicationName: "agent-pool" });
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

  const checks = dependencyChecks({ db: database.db, sqs, queueUrl: config.INBOUND_QUEUE_URL, chromaUrl: config.CHROMA_URL });
  const deadLetter = await resolveDeadLetterTarget(sqs, config.INBOUND_QUEUE_URL, {
    queueUrl: config.DEAD_LETTER_QUEUE_URL,
    maxReceiveCount: config.POOL_MAX_RECEIVE_COUNT,
  });
  if (!deadLetter) logger.log("warn", "pool.no_dead_letter_queue", { queueUrl: config.INBOUND_QUEUE_URL });

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
    deps: {
      db: database.db,
      keyring: parseKeyring(config.SECRETS_KEYRING),
      telegramApiBase: config.TELEGRAM_API_BASE,
      modelEnv: readModelEnvironment(process.env),
      logger,
    },
  });

  const health = await startHealthServer(config.POOL_PORT, {
    ...checks,
    consumer: async () => {
      if (consumer.draining) throw new Error("draining");
    },
  });
  consumer.start();
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
    const { finished, released } = await consumer.stop(config.POOL_SHUTDOWN_TIMEOUT_SECONDS * 1000);
    logger.log("info", "pool.drained", { finished, released });
    await health.close();
    await database.close();
    logger.log("info", "pool.stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  console.error(JSON.stringify({ level: "error", event: "pool.crashed", ...describeError(error) }));
  process.exit(1);
});
