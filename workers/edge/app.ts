// First: zod v4 builds each schema's methods when the schema is created, so `.openapi()` exists
// only on schemas created after @hono/zod-openapi has extended zod. Loading it before anything
// else means no import order can produce a schema without it.
import "@hono/zod-openapi";
import { Hono } from "hono";
import { integrationConfig } from "../../core/integrations/config";
import { billingConfig } from "../../core/billing/config";
import { requestId } from "hono/request-id";
import { createLogger, describeError } from "../../core/observability/log";
import { createSqsKnowledgeJobQueue } from "../../core/knowledge/jobs";
import { createSqsInboundQueue, sqsOverFetch } from "../../core/queue/sqs";
import type { AppEnv, ConfigServices, EdgeServices } from "./context";
import { loadConfig, type EdgeConfig, type Env } from "./env";
import { errorResponse, toApiError } from "./errors";
import { EdgeCounters, reportError, requestCounters } from "./observability";
import { healthRoutes } from "./routes/health";
import { v1Api } from "./routes/v1";
import { webhookIntake, webhookSources } from "./routes/webhooks/intake";
import { billingWebhook } from "./routes/webhooks/billing";
import { voiceRoutes } from "./routes/voice";
import { webchatRoutes } from "./routes/webchat";
import { consoleRoutes } from "./routes/console";
import { createAuth0Verifier } from "../../core/access/auth0";
import { createAuth0Management } from "../../core/access/auth0-management";
import { parseKeyring } from "../../core/crypto/secrets";
import { parseHostList } from "../../core/http/url-policy";

/** The I/O services (queues, logger, Auth0); tests pass their own. */
export type ServicesFactory = (config: EdgeConfig) => Omit<EdgeServices, keyof ConfigServices>;

/** Parsed once per isolate: routes read these, never the raw strings. */
export function configServices(config: EdgeConfig): ConfigServices {
  return {
    ...(config.SECRETS_KEYRING ? { keyring: parseKeyring(config.SECRETS_KEYRING) } : {}),
    toolUrlPolicy: { allowedHosts: parseHostList(config.TOOLS_ALLOWED_HOSTS) },
    alertWebhookPolicy: { allowedHosts: parseHostList(config.ALERTS_WEBHOOK_ALLOWED_HOSTS) },
    integrations: integrationConfig(config),
    billing: billingConfig(config),
  };
}

/** Production services: SQS over fetch, signed with aws4fetch (core/queue/sqs.ts: sqsOverFetch). */
export const defaultServices: ServicesFactory = (config) => {
  const sqs = sqsOverFetch({
    region: config.SQS_REGION,
    endpoint: config.SQS_ENDPOINT,
    accessKeyId: config.SQS_ACCESS_KEY_ID,
    secretAccessKey: config.SQS_SECRET_ACCESS_KEY,
  });
  return {
    config,
    logger: createLogger({ service: "edge" }, config.LOG_LEVEL),
    inboundQueue: createSqsInboundQueue(sqs, config.INBOUND_QUEUE_URL),
    ...(config.KNOWLEDGE_JOBS_QUEUE_URL ? { knowledgeJobs: createSqsKnowledgeJobQueue(sqs, config.KNOWLEDGE_JOBS_QUEUE_URL) } : {}),
    ...(config.AUTH0_ISSUER && config.AUTH0_AUDIENCE
      ? {
          // One per isolate: the key set it fetches is cached inside and shared by requests.
          auth0: createAuth0Verifier({
            issuer: config.AUTH0_ISSUER,
            audience: config.AUTH0_AUDIENCE,
            ...(config.AUTH0_JWKS_URL ? { jwksUrl: config.AUTH0_JWKS_URL } : {}),
            orgClaim: config.AUTH0_ORG_CLAIM,
            emailClaim: config.AUTH0_EMAIL_CLAIM,
            jwksCooldownSeconds: config.AUTH0_JWKS_COOLDOWN_SECONDS,
            clockToleranceSeconds: config.AUTH0_CLOCK_TOLERANCE_SECONDS,
          }),
        }
      : {}),
    ...(config.AUTH0_ISSUER && config.AUTH0_MANAGEMENT_CLIENT_ID && config.AUTH0_MANAGEMENT_CLIENT_SECRET && config.AUTH0_CONSOLE_CLIENT_ID
      ? {
          auth0Management: createAuth0Management({
            domain: new URL(config.AUTH0_ISSUER).host,
            clientId: config.AUTH0_MANAGEMENT_CLIENT_ID,
            clientSecret: config.AUTH0_MANAGEMENT_CLIENT_SECRET,
            consoleClientId: config.AUTH0_CONSOLE_CLIENT_ID,
            ...(config.AUTH0_CONNECTION_ID ? { connectionId: config.AUTH0_CONNECTION_ID } : {}),
            ...(config.AUTH0_MANAGEMENT_BASE_URL ? { baseUrl: config.AUTH0_MANAGEMENT_BASE_URL } : {}),
          }),
        }
      : {}),
  };
};

/**
 * The isolate's services for its bindings, built once per configuration; undefined (logged) when
 * the environment is broken: a missing variable, or a keyring that does not parse. The app and the
 * `email()` handler each hold one.
 */
export function servicesLoader(makeServices: ServicesFactory = defaultServices): (env: Env) => EdgeServices | undefined {
  const servicesByConfig = new WeakMap<EdgeConfig, EdgeServices>();
  return (env) => {
    const loaded = loadConfig(env);
    if (!loaded.ok) {
      console.error(JSON.stringify({ level: "error", event: "edge.bad_environment", issues: loaded.issues }));
      return undefined;
    }
    let services = servicesByConfig.get(loaded.config);
    if (!services) {
      try {
        services = { ...configServices(loaded.config), ...makeServices(loaded.config) };
      } catch (error) {
        console.error(JSON.stringify({ level: "error", event: "edge.bad_environment", ...describeError(error) }));
        return undefined;
      }
      servicesByConfig.set(loaded.config, services);
    }
    return services;
  };
}

/**
 * The edge app: one place wires request ids, the environment check, services and the error
 * handler. Tests pass their own services factory to run the routes without a queue.
 */
export function newApp(makeServices: ServicesFactory = defaultServices) {
  const servicesFor = servicesLoader(makeServices);
  const app = new Hono<AppEnv>();
  const counters = new EdgeCounters();

  app.use(requestId({ headerName: "x-request-id", limitLength: 128 }));
  app.use(async (c, next) => {
    const services = servicesFor(c.env ?? {});
    if (!services) return errorResponse(c, 500, "BAD_ENVIRONMENT", "The service is misconfigured.");
    c.set("services", services);
    c.set("logger", services.logger.child({ requestId: c.get("requestId") }));
    await next();
  });
  app.use(requestCounters(counters));
  // Local only (EDGE_METRICS=on): the isolate's request counters for Prometheus.
  app.get("/metrics", (c) =>
    c.get("services").config.EDGE_METRICS === "on"
      ? c.text(counters.exposition(), 200, { "content-type": "text/plain; version=0.0.4" })
      : errorResponse(c, 404, "NOT_FOUND", "No such route."),
  );

  app.route("/", healthRoutes);
  // One intake, mounted per registered kind so each route keeps its own name in metrics and logs.
  for (const { kind, find } of webhookSources()) app.route(`/webhooks/${kind}`, webhookIntake(kind, find));
  app.route("/webhooks/billing", billingWebhook);
  app.route("/webchat", webchatRoutes);
  app.route("/voice", voiceRoutes);
  app.route("/", consoleRoutes);
  app.route("/", v1Api);

  app.notFound((c) => errorResponse(c, 404, "NOT_FOUND", "No such route."));
  app.onError((error, c) => {
    const known = toApiError(error);
    if (known) {
      const response = errorResponse(c, known.status, known.code, known.message, known.details);
      for (const [name, value] of Object.entries(known.headers ?? {})) response.headers.set(name, value);
      return response;
    }
    const logger = c.get("logger") ?? createLogger({ service: "edge" });
    logger.log("error", "edge.unhandled_error", describeError(error));
    reportError(c, error);
    return errorResponse(c, 500, "INTERNAL", "Something went wrong on our side.");
  });
  return app;
}
