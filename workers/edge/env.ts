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
  /**
   * "id:base64key[,id:base64key...]", the same keyring as the pool: the admin API seals secrets
   * (provider keys, channel and tool credentials) on write. Unset: such writes answer 503.
   */
  SECRETS_KEYRING: z.string().min(1).optional(),
  /**
   * Auth0 sign-in for the admin API. Unset: bearer JWTs are refused with a clear 401 and only API
   * keys work (the local stack's default). `https://<tenant>.auth0.com/`, as in the tokens' `iss`.
   */
  AUTH0_ISSUER: optional(z.url()),
  /** The Auth0 API identifier access tokens must carry in `aud`; required with AUTH0_ISSUER. */
  AUTH0_AUDIENCE: optional(z.string().min(1)),
  /** Overrides `<issuer>.well-known/jwks.json` (tests point it at a loopback JWKS server). */
  AUTH0_JWKS_URL: optional(z.url()),
  /** The claim naming the Auth0 Organization, mapped to a tenant by `tenants.auth0_org_id`. */
  AUTH0_ORG_CLAIM: z.string().min(1).default("org_id"),
  /** The claim holding the user's email (added by an Auth0 Action); `<claim>_verified` beside it. */
  AUTH0_EMAIL_CLAIM: z.string().min(1).default("email"),
  AUTH0_JWKS_COOLDOWN_SECONDS: z.coerce.number().min(0).max(3600).default(30),
  AUTH0_CLOCK_TOLERANCE_SECONDS: z.coerce.number().min(0).max(300).default(10),
}).refine((env) => !env.AUTH0_ISSUER || env.AUTH0_AUDIENCE, {
  path: ["AUTH0_AUDIENCE"],
  message: "AUTH0_AUDIENCE is required when AUTH0_ISSUER is set",
});

/** Wrangler passes unset vars as absent but `--var NAME:` as ""; both mean "not configured". */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === "" ? undefined : value), schema.optional());
}

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
