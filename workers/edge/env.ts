import { z } from "zod";

/**
 * The edge's bindings, validated once per isolate (see `loadConfig`). Secrets come from
 * `wrangler secret put` in production and `--var` locally.
 */
export const edgeEnvSchema = z.object({
  WEBHOOK_SIGNING_KEY: z.string().min(32, "WEBHOOK_SIGNING_KEY must be at least 32 characters"),
  SQS_REGION: z.string().min(1).default("us-east-1"),
  /** Unset in production; the loopback emulator locally. */
  SQS_ENDPOINT: z.url().optional(),
  SQS_ACCESS_KEY_ID: z.string().min(1),
  SQS_SECRET_ACCESS_KEY: z.string().min(1),
  INBOUND_QUEUE_URL: z.url(),
  /** Postgres (Neon) for the admin API and readiness; the webhook path never touches it. */
  DATABASE_URL: z.string().optional(),
  /** host:port of a loopback WebSocket→TCP proxy standing in for Neon's WebSocket endpoint. */
  NEON_WS_PROXY: z.string().optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type EdgeConfig = z.infer<typeof edgeEnvSchema>;

/** The raw bindings as Cloudflare passes them. */
export type Env = Record<string, unknown>;

const cache = new WeakMap<object, { ok: true; config: EdgeConfig } | { ok: false; issues: string[] }>();

export function loadConfig(env: Env) {
  let result = cache.get(env);
  if (!result) {
    const parsed = edgeEnvSchema.safeParse(env);
    result = parsed.success
      ? { ok: true, config: parsed.data }
      : { ok: false, issues: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) };
    cache.set(env, result);
  }
  return result;
}
