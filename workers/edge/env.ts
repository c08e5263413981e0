import { z } from "zod";
import { issueLines } from "../../core/errors";
import { endpointEnv } from "../../core/endpoints";
import { DEFAULT_DELETION_GRACE_DAYS } from "../../core/tenants/deletion";
import { integrationAppEnv } from "../../core/integrations/config";
import { billingEnv } from "../../core/billing/config";

/**
 * The edge's bindings, validated once per isolate (see `loadConfig`). Secrets come from
 * `wrangler secret put` in production and `--var` locally.
 */
export const edgeEnvSchema = z
  .object({
    WEBHOOK_SIGNING_KEY: z.string().min(32, "WEBHOOK_SIGNING_KEY must be at least 32 characters"),
    SQS_REGION: z.string().min(1).default("us-east-1"),
    /** Unset in production; the loopback emulator locally. */
    SQS_ENDPOINT: z.url().optional(),
    SQS_ACCESS_KEY_ID: z.string().min(1),
    SQS_SECRET_ACCESS_KEY: z.string().min(1),
    INBOUND_QUEUE_URL: z.url(),
    /** Knowledge ingestion jobs for the pool. Unset: adding or deleting knowledge sources answers 503. */
    KNOWLEDGE_JOBS_QUEUE_URL: optional(z.url()),
    /** Postgres (Neon) for the admin API and readiness; the webhook path never touches it. */
    DATABASE_URL: z.string().optional(),
    /** host:port of a loopback WebSocket→TCP proxy standing in for Neon's WebSocket endpoint. */
    NEON_WS_PROXY: z.string().optional(),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /**
     * The domain whose mail Cloudflare Email Routing hands to this worker's `email()` handler (a
     * catch-all rule): email channels' inbound addresses are under it. Unset: email channels cannot
     * be connected and inbound mail is refused.
     */
    EMAIL_DOMAIN: optional(z.string().regex(/^[a-z0-9.-]+\.[a-z0-9-]+$/i, "a domain such as mail.example.com")),
    /**
     * Tests only: the loopback SNS fake's base URL, trusted for signing certificates and subscription
     * confirmations instead of `https://sns.<region>.amazonaws.com`. Never set in production.
     */
    SNS_TRUSTED_BASE_URL: optional(z.url()),
    /**
     * The bucket of whole-tenant exports (`POST /v1/exports`) and a key pair that may read it, for
     * the presigned download links `GET /v1/exports/{id}` answers. S3_API_BASE: an S3-compatible
     * endpoint (the local emulator); unset for Amazon S3. Without the bucket, exports answer 503.
     */
    EXPORTS_BUCKET: optional(z.string().min(3)),
    S3_API_BASE: optional(z.url()),
    S3_REGION: optional(z.string().min(1)),
    S3_ACCESS_KEY_ID: optional(z.string().min(1)),
    S3_SECRET_ACCESS_KEY: optional(z.string().min(1)),
    /** Days a deleted tenant can still be restored before the pool purges it (`DELETE /v1/tenant`); default 30. */
    TENANT_DELETION_GRACE_DAYS: z.coerce.number().int().min(0).max(365).default(DEFAULT_DELETION_GRACE_DAYS),
    /** Our public base URL (webhooks and the widget hang off it); default: the origin of the admin request. */
    PUBLIC_BASE_URL: optional(z.url()),
    /** TELEGRAM_API_BASE, WHATSAPP_API_BASE, the integrations' HUBSPOT_*, SALESFORCE_LOGIN_URL, STRIPE_*: see core/endpoints.ts. */
    ...endpointEnv,
    /** The platform's OAuth apps (HUBSPOT_CLIENT_ID/SECRET, SALESFORCE_CLIENT_ID/SECRET, STRIPE_CLIENT_ID, STRIPE_SECRET_KEY); unset: that provider connects by token only. */
    ...integrationAppEnv,
    /** BILLING_PLANS, BILLING_STRIPE_SECRET_KEY, BILLING_STRIPE_WEBHOOK_SECRET, BILLING_METER_EVENT: see core/billing/config.ts. */
    ...billingEnv,
    /**
     * The platform's Meta app secret: every WhatsApp webhook is signed with it (X-Hub-Signature-256).
     * One app for all tenants (numbers are onboarded into the platform's app), so the edge checks
     * signatures with no database round trip. Unset: WhatsApp webhooks answer 503.
     */
    WHATSAPP_APP_SECRET: optional(z.string().min(16)),
    /**
     * "id:base64key[,id:base64key...]", the same keyring as the pool: the admin API seals secrets
     * (provider keys, channel and tool credentials) on write. Unset: such writes answer 503.
     */
    SECRETS_KEYRING: z.string().min(1).optional(),
    /**
     * The pool's tool runner (workers/pool/tool-runner.ts): `POST /v1/tools/:id/test` and imports by
     * URL run there, where DNS can be resolved and the checked address pinned. Unset: those answer 503.
     */
    TOOL_RUNNER_URL: optional(z.url()),
    /** Exceptions to the SSRF policy when a tool is saved (`host` or `host:port`, comma-separated); the pool has its own. */
    TOOLS_ALLOWED_HOSTS: optional(z.string()),
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
    /** The console's Auth0 application (single-page, PKCE): the console signs in through Universal Login with it. */
    AUTH0_CONSOLE_CLIENT_ID: optional(z.string().min(1)),
    /**
     * A machine-to-machine application for the Management API (organisations, members,
     * invitations, verification emails). Set both to allow self-service sign-up and to send
     * invitations through Auth0; unset, `POST /v1/signup` answers 404 and invitations are only recorded.
     */
    AUTH0_MANAGEMENT_CLIENT_ID: optional(z.string().min(1)),
    AUTH0_MANAGEMENT_CLIENT_SECRET: optional(z.string().min(1)),
    /** Where the Management API and its token endpoint are reached instead of `https://<issuer host>` (a loopback fake in tests). */
    AUTH0_MANAGEMENT_BASE_URL: optional(z.url()),
    /** The connection (`con_…`) each new organisation enables, and invitations sign in with. */
    AUTH0_CONNECTION_ID: optional(z.string().min(1)),
    /**
     * "on": console sign-in without Auth0 (the local stack): one-time sign-in links redeemed at
     * `POST /v1/session`, and the sign-up form at `POST /v1/signup`. Never together with AUTH0_ISSUER.
     */
    LOCAL_SIGN_IN: optional(z.enum(["on", "off"])),
    /** Sentry through toucan-js: unhandled errors are reported only when set. */
    SENTRY_DSN: optional(z.url()),
    SENTRY_ENVIRONMENT: z.string().min(1).default("production"),
    /** Hosts (`host` or `host:port`) alert webhooks may target besides public HTTPS ones (loopback receivers locally). */
    ALERTS_WEBHOOK_ALLOWED_HOSTS: optional(z.string()),
    /**
     * "on": the edge keeps its request counters in memory and serves them at `/metrics` (Prometheus
     * text) for the local stack. Off in production, where the counters go to Workers Analytics
     * Engine (the `EDGE_ANALYTICS` binding) and to the structured `edge.request` log lines.
     */
    EDGE_METRICS: optional(z.enum(["on", "off"])),
    AUTH0_JWKS_COOLDOWN_SECONDS: z.coerce.number().min(0).max(3600).default(30),
    AUTH0_CLOCK_TOLERANCE_SECONDS: z.coerce.number().min(0).max(300).default(10),
  })
  .refine((env) => !env.AUTH0_ISSUER || env.AUTH0_AUDIENCE, {
    path: ["AUTH0_AUDIENCE"],
    message: "AUTH0_AUDIENCE is required when AUTH0_ISSUER is set",
  })
  .refine(
    (env) => !env.AUTH0_MANAGEMENT_CLIENT_ID || (env.AUTH0_ISSUER && env.AUTH0_MANAGEMENT_CLIENT_SECRET && env.AUTH0_CONSOLE_CLIENT_ID),
    {
      path: ["AUTH0_MANAGEMENT_CLIENT_ID"],
      message: "AUTH0_MANAGEMENT_CLIENT_ID needs AUTH0_ISSUER, AUTH0_MANAGEMENT_CLIENT_SECRET and AUTH0_CONSOLE_CLIENT_ID",
    },
  )
  .refine((env) => !(env.AUTH0_ISSUER && env.LOCAL_SIGN_IN === "on"), {
    path: ["LOCAL_SIGN_IN"],
    message: "LOCAL_SIGN_IN=on is for deployments without Auth0; unset it where AUTH0_ISSUER is set",
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
    result = parsed.success ? { ok: true, config: parsed.data } : { ok: false, issues: issueLines(parsed.error.issues) };
    cache.set(env, result);
  }
  return result;
}
