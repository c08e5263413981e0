import { z } from "zod";

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === "" ? undefined : value));

/** The pool's environment, validated at start: a broken environment stops the process with a clear message. */
export const poolEnvSchema = z.object({
  DATABASE_URL: z.string().min(1),
  SQS_REGION: z.string().min(1).default("us-east-1"),
  SQS_ENDPOINT: optionalString.pipe(z.url().optional()),
  SQS_ACCESS_KEY_ID: z.string().min(1),
  SQS_SECRET_ACCESS_KEY: z.string().min(1),
  INBOUND_QUEUE_URL: z.url(),
  /** "id:base64key[,id:base64key...]"; the first key encrypts, all decrypt. */
  SECRETS_KEYRING: z.string().min(1),
  TELEGRAM_API_BASE: z.url().default("https://api.telegram.org"),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
  /** Port for /healthz and /readyz; 0 picks a free one. */
  POOL_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
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
  /** Chroma server; when set, readiness includes its heartbeat. */
  CHROMA_URL: optionalString.pipe(z.url().optional()),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type PoolConfig = z.infer<typeof poolEnvSchema>;

export function loadPoolConfig(env: NodeJS.ProcessEnv): PoolConfig {
  const parsed = poolEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n");
    throw new Error(`BAD_ENVIRONMENT: the pool's environment is invalid:\n${issues}`);
  }
  return parsed.data;
}
