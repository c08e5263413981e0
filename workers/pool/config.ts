import { z } from "zod";
import { issueLines } from "../../core/errors";
import { endpointEnv } from "../../core/endpoints";
import { integrationAppEnv } from "../../core/integrations/config";
import { billingEnv } from "../../core/billing/config";

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === "" ? undefined : value));

/** The pool's environment, validated at start: a broken environment stops the process with a clear message. */
export const poolEnvSchema = z.object({
  DATABASE_URL: z.string().min(1),
  SQS_REGION: z.string().min(1).default("us-east-1"),
  SQS_ENDPOINT: optionalString.pipe(z.url().optional()),
  /** Both or neither: unset, the AWS SDK's default credentials (the ECS task role in production). */
  SQS_ACCESS_KEY_ID: optionalString,
  SQS_SECRET_ACCESS_KEY: optionalString,
  INBOUND_QUEUE_URL: z.url(),
  /** "id:base64key[,id:base64key...]"; the first key encrypts, all decrypt. */
  SECRETS_KEYRING: z.string().min(1),
  /** TELEGRAM_API_BASE, WHATSAPP_API_BASE, the integrations' provider URLs: see core/endpoints.ts. */
  ...endpointEnv,
  /** The integrations' OAuth apps (refreshing tokens needs the client secret): see core/integrations/config.ts. */
  ...integrationAppEnv,
  /** The plans and the platform's Stripe account (core/billing/config.ts). */
  ...billingEnv,
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
  /** Port for /healthz and /readyz; 0 picks a free one. */
  POOL_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /**
   * Connections to PostgreSQL the process may open (node-postgres pool). 1 on embedded PGlite
   * (the local stack sets it): PGlite is one backend session shared through pglite-socket, whose
   * queue of interleaved transactions from several connections stalled turns for good under a
   * burst; with one connection the client serialises them instead, and PGlite runs one query at a
   * time anyway.
   */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * Repeated statements prepared by name on each connection (db/prepared.ts): parsed once, sent as
   * Bind and Execute only. `off` behind a pooler in transaction mode that does not keep prepared
   * statements per client (RDS Proxy pins such connections), and on embedded PGlite, whose one
   * session every connection shares (the local stack sets it).
   */
  DATABASE_PREPARED_STATEMENTS: z.enum(["on", "off"]).default("on"),
  /** Messages received per poll; different conversations in a batch run in parallel. */
  POOL_BATCH_SIZE: z.coerce.number().int().min(1).max(10).default(10),
  /** Seconds a received message stays invisible; extended while a turn runs. */
  POOL_VISIBILITY_TIMEOUT: z.coerce.number().int().min(2).max(43_200).default(30),
  POOL_WAIT_TIME_SECONDS: z.coerce.number().int().min(0).max(20).default(20),
  /** Turns running at once in this process, across batches (different conversations; one conversation is always sequential). */
  POOL_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(10),
  /** On SIGTERM: how long turns in flight may take to finish before their messages go back to the queue. */
  POOL_SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().min(0).max(3_600).default(10),
  /** Backoff between dependency checks after a transient failure: full jitter, doubling from base to max. */
  POOL_BACKOFF_BASE_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  POOL_BACKOFF_MAX_MS: z.coerce.number().int().min(10).max(600_000).default(30_000),
  /** Dead-letter queue and receive limit; default: the inbound queue's redrive policy. */
  DEAD_LETTER_QUEUE_URL: optionalString.pipe(z.url().optional()),
  POOL_MAX_RECEIVE_COUNT: optionalString
    .transform((value) => (value === undefined ? undefined : Number(value)))
    .pipe(z.number().int().min(1).max(1_000).optional()),
  /** Knowledge ingestion jobs (core/knowledge/jobs.ts); consumed when set together with CHROMA_URL. */
  KNOWLEDGE_JOBS_QUEUE_URL: optionalString.pipe(z.url().optional()),
  /** Chroma server; when set, readiness includes its heartbeat, and turns retrieve the agent's knowledge. */
  CHROMA_URL: optionalString.pipe(z.url().optional()),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Sentry (Node SDK): errors are reported only when set. */
  SENTRY_DSN: optionalString.pipe(z.url().optional()),
  SENTRY_ENVIRONMENT: z.string().min(1).default("production"),
  /** Seconds between passes of the periodic jobs (analytics rollups, tenant alerts); 0 turns them off. */
  POOL_JOBS_INTERVAL_SECONDS: z.coerce.number().min(0).max(86_400).default(60),
  /** SMTP server for alert emails, e.g. smtp://user:pass@smtp.example.com:587; without it email alerts fail with a reason. */
  ALERTS_SMTP_URL: optionalString.pipe(z.url().optional()),
  ALERTS_EMAIL_FROM: z.string().min(3).default("alerts@agent-platform.invalid"),
  /** Hosts (`host` or `host:port`, comma-separated) alert webhooks may reach besides public HTTPS ones: loopback receivers locally. */
  ALERTS_WEBHOOK_ALLOWED_HOSTS: optionalString,
  /** Exceptions to the SSRF policy for tenant HTTP tools: comma-separated `host` or `host:port` (tests: loopback servers). */
  TOOLS_ALLOWED_HOSTS: optionalString,
  /** Amazon S3, path-style, where email channels read the mail SES stored; default: the bucket's own endpoint (locally: the emulator). */
  S3_API_BASE: optionalString.pipe(z.url().optional()),
  /** The bucket whole-tenant exports are written to (core/data); without it export and import requests fail with that reason. */
  EXPORTS_BUCKET: optionalString,
  /** The exports bucket's region; default SQS_REGION. Its endpoint is S3_API_BASE when set (the local emulator). */
  S3_REGION: optionalString,
  /** Keys for S3 when not the task role's (the local emulator takes any). */
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  /** Amazon SES API v2 for email channels that send through SES; default: SES's endpoint in the channel's region (tests: the loopback fake). */
  SES_API_BASE: optionalString.pipe(z.url().optional()),
  /** Exceptions to the SSRF policy for email channels' SMTP servers, as TOOLS_ALLOWED_HOSTS (the local stack's loopback server). */
  SMTP_ALLOWED_HOSTS: optionalString,
  /** Ports tenant HTTP tools may use besides none; default 80,443. */
  TOOLS_ALLOWED_PORTS: optionalString.pipe(
    z
      .string()
      .regex(/^\d+(,\d+)*$/)
      .optional(),
  ),
  /** Port of the tool runner the edge calls for `POST /v1/tools/:id/test` and imports by URL; unset: not started. */
  POOL_TOOL_RUNNER_PORT: optionalString
    .transform((value) => (value === undefined ? undefined : Number(value)))
    .pipe(z.number().int().min(0).max(65535).optional()),
});

export type PoolConfig = z.infer<typeof poolEnvSchema>;

export function loadPoolConfig(env: NodeJS.ProcessEnv): PoolConfig {
  const parsed = poolEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = issueLines(parsed.error.issues)
      .map((line) => `  ${line}`)
      .join("\n");
    throw new Error(`BAD_ENVIRONMENT: the pool's environment is invalid:\n${issues}`);
  }
  if (!parsed.data.SQS_ACCESS_KEY_ID !== !parsed.data.SQS_SECRET_ACCESS_KEY) {
    throw new Error(
      "BAD_ENVIRONMENT: the pool's environment is invalid:\n  SQS_ACCESS_KEY_ID and SQS_SECRET_ACCESS_KEY: set both, or neither for the default AWS credentials",
    );
  }
  return parsed.data;
}
