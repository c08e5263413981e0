import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { sql } from "drizzle-orm";
import { parseKeyring } from "../../core/crypto/secrets";
import { createLogger, describeError } from "../../core/observability/log";
import { createSqsClient } from "../../core/queue/sqs";
import { createPoolDb } from "../../db/client";
import { loadPoolConfig } from "./config";
import { createInboundConsumer } from "./consumer";
import { startHealthServer } from "./health";

/**
 * The worker pool process: consumes the inbound queue, runs turns, serves health checks.
 * SIGTERM/SIGINT stop polling, let in-flight turns finish, then close connections.
 */
async function main() {
  const config = loadPoolConfig(process.env);
  const logger = createLogger({ service: "pool", pid: process.pid }, config.LOG_LEVEL);
  const database = createPoolDb(config.DATABASE_URL, { applicationName: "agent-pool" });
  const sqs = createSqsClient({
    region: config.SQS_REGION,
    endpoint: config.SQS_ENDPOINT,
    accessKeyId: config.SQS_ACCESS_KEY_ID,
    secretAccessKey: config.SQS_SECRET_ACCESS_KEY,
  });

  const consumer = createInboundConsumer({
    sqs,
    queueUrl: config.INBOUND_QUEUE_URL,
    batchSize: config.POOL_BATCH_SIZE,
    visibilityTimeout: config.POOL_VISIBILITY_TIMEOUT,
    waitTimeSeconds: config.POOL_WAIT_TIME_SECONDS,
    logger,
    deps: {
      db: database.db,
      keyring: parseKeyring(config.SECRETS_KEYRING),
      telegramApiBase: config.TELEGRAM_API_BASE,
      modelEnv: { OPENAI_API_KEY: config.OPENAI_API_KEY, OPENAI_BASE_URL: config.OPENAI_BASE_URL },
      logger,
    },
  });

  const health = await startHealthServer(config.POOL_PORT, {
    database: async () => {
      await database.db.execute(sql`select 1`);
    },
    queue: async () => {
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: config.INBOUND_QUEUE_URL, AttributeNames: ["QueueArn"] }));
    },
  });
  consumer.start();
  logger.log("info", "pool.started", { healthPort: health.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log("info", "pool.stopping", { signal });
    const stopped = new Promise<void>((resolve) => consumer.once("stopped", () => resolve()));
    consumer.stop({ abort: true });
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 10_000))]);
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
