import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { createLogger, describeError } from "../../core/observability/log";
import { createSqsClient, createSqsInboundQueue } from "../../core/queue/sqs";
import type { AppEnv, EdgeServices } from "./context";
import { loadConfig, type EdgeConfig } from "./env";
import { ApiError, errorResponse } from "./errors";
import { healthRoutes } from "./routes/health";
import { telegramWebhook } from "./routes/webhooks/telegram";

export type ServicesFactory = (config: EdgeConfig) => EdgeServices;

/** Production services: SQS through the AWS SDK (fetch handler under workerd). */
export const defaultServices: ServicesFactory = (config) => {
  const sqs = createSqsClient({
    region: config.SQS_REGION,
    endpoint: config.SQS_ENDPOINT,
    accessKeyId: config.SQS_ACCESS_KEY_ID,
    secretAccessKey: config.SQS_SECRET_ACCESS_KEY,
  });
  return {
    config,
    logger: createLogger({ service: "edge" }, config.LOG_LEVEL),
    inboundQueue: createSqsInboundQueue(sqs, config.INBOUND_QUEUE_URL),
  };
};

/**
 * The edge app: one place wires request ids, the environment check, services and the error
 * handler. Tests pass their own services factory to run the routes without a queue.
 */
export function newApp(makeServices: ServicesFactory = defaultServices) {
  const servicesByConfig = new WeakMap<EdgeConfig, EdgeServices>();
  const app = new Hono<AppEnv>();

  app.use(requestId({ headerName: "x-request-id", limitLength: 128 }));
  app.use(async (c, next) => {
    const loaded = loadConfig(c.env ?? {});
    if (!loaded.ok) {
      console.error(JSON.stringify({ level: "error", event: "edge.bad_environment", issues: loaded.issues }));
      return errorResponse(c, 500, "BAD_ENVIRONMENT", "The service is misconfigured.");
    }
    let services = servicesByConfig.get(loaded.config);
    if (!services) {
      services = makeServices(loaded.config);
      servicesByConfig.set(loaded.config, services);
    }
    c.set("services", services);
    c.set("logger", services.logger.child({ requestId: c.get("requestId") }));
    await next();
  });

  app.route("/", healthRoutes);
  app.route("/webhooks/telegram", telegramWebhook);

  app.notFound((c) => errorResponse(c, 404, "NOT_FOUND", "No such route."));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error.status, error.code, error.message, error.details);
    const logger = c.get("logger") ?? createLogger({ service: "edge" });
    logger.log("error", "edge.unhandled_error", describeError(error));
    return errorResponse(c, 500, "INTERNAL", "Something went wrong on our side.");
  });
  return app;
}
