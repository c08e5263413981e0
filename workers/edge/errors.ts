import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { TokenVerificationUnavailableError } from "../../core/access/auth0";
import { InvalidTenantIdError } from "../../db/tenant";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, GENERIC_CODES } from "../../core/errors";

/** Stable error codes callers can branch on. */
export type ErrorCode =
  | "BAD_ENVIRONMENT"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "INVALID_JSON"
  /** A webhook's signature is wrong or too old (Stripe expects a 400 for these). */
  | "INVALID_SIGNATURE"
  | "INVALID_BODY"
  | "INVALID_QUERY"
  | "INVALID_PARAMS"
  | "INVALID_REQUEST"
  /** 402: the tenant's plan does not allow it (details: `limit` or `module`, `allowed`, `used`, `upgradeTo`). */
  | "PLAN_LIMIT_REACHED"
  /** Billing through the platform's Stripe account is not configured here. */
  | "BILLING_UNAVAILABLE"
  | "AUTH_UNAVAILABLE"
  /** Auth0's Management API (sign-up, invitations) is not configured or not answering. */
  | "AUTH0_UNAVAILABLE"
  | "SECRETS_UNAVAILABLE"
  /** A stored secret no longer decrypts (its key left the keyring, or it was damaged): the admin enters it again. */
  | "SECRET_UNREADABLE"
  | "TOOL_RUNNER_UNAVAILABLE"
  | "PAYLOAD_TOO_LARGE"
  /** The endpoint's tenant was deleted: providers should stop sending (410). */
  | "GONE"
  | "QUEUE_UNAVAILABLE"
  | "EXPORTS_UNAVAILABLE"
  | "DATABASE_UNAVAILABLE"
  | "CHANNELS_UNAVAILABLE"
  | "VOICE_UNAVAILABLE"
  | "RATE_LIMITED"
  | "INTERNAL";

/** An error that maps to an HTTP answer with its own code and a message safe to show. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. `WWW-Authenticate` on a 401. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** The one error shape of the edge: `{ error: { code, message, requestId, details? } }`. */
export function errorResponse(c: Context, status: ContentfulStatusCode, code: ErrorCode, message: string, details?: unknown) {
  const requestId = c.get("requestId") as string | undefined;
  return c.json({ error: { code, message, requestId, ...(details === undefined ? {} : { details }) } }, status);
}

/** The realm named in every `WWW-Authenticate` challenge. */
export const AUTH_REALM = "agent-platform";

/**
 * 401 with a `WWW-Authenticate: Bearer` challenge (RFC 6750): without `description` the caller
 * sent no credentials; with one, what it sent was refused (`error="invalid_token"`).
 */
export function unauthorized(description?: string): ApiError {
  const challenge = description
    ? `Bearer realm="${AUTH_REALM}", error="invalid_token", error_description="${description.replace(/["\\]/g, "")}"`
    : `Bearer realm="${AUTH_REALM}"`;
  return new ApiError(
    401,
    "UNAUTHORIZED",
    description ?? "Send an Auth0 access token or an API key as `Authorization: Bearer <token>`.",
    undefined,
    {
      "www-authenticate": challenge,
    },
  );
}

/**
 * Domain errors (core/access) and framework errors to the one HTTP error shape; undefined for
 * anything unexpected, which the app answers with a 500 that shows no internal message.
 */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof InvalidTenantIdError) return new ApiError(404, "NOT_FOUND", error.message);
  if (error instanceof DomainError) {
    if (error.status === 503) return new ApiError(503, error.code as ErrorCode, error.message);
    // The generic code by status keeps one vocabulary for clients; a more precise code rides along as `reason`.
    const code = GENERIC_CODES[error.status];
    if (error.code === code) return new ApiError(error.status, code, error.message, error.details);
    const details = error.details === undefined ? { reason: error.code } : { reason: error.code, issues: error.details };
    return new ApiError(error.status, code, error.message, details);
  }
  if (error instanceof TokenVerificationUnavailableError) {
    return new ApiError(503, "AUTH_UNAVAILABLE", "Sign-in cannot be checked right now; retry shortly.");
  }
  if (error instanceof HTTPException && error.status < 500) {
    const json = /json/i.test(error.message);
    return new ApiError(
      error.status as ContentfulStatusCode,
      json ? "INVALID_JSON" : "INVALID_REQUEST",
      json ? "The body is not valid JSON." : "The request is malformed.",
    );
  }
  return undefined;
}
