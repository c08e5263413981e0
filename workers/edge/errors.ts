import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Stable error codes callers can branch on. */
export type ErrorCode =
  | "BAD_ENVIRONMENT"
  | "UNAUTHORIZED"
  | "NOT_FOUND"
  | "INVALID_JSON"
  | "INVALID_BODY"
  | "PAYLOAD_TOO_LARGE"
  | "QUEUE_UNAVAILABLE"
  | "DATABASE_UNAVAILABLE"
  | "INTERNAL";

/** An error that maps to an HTTP answer with its own code and a message safe to show. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The one error shape of the edge: `{ error: { code, message, requestId, details? } }`. */
export function errorResponse(c: Context, status: ContentfulStatusCode, code: ErrorCode, message: string, details?: unknown) {
  const requestId = c.get("requestId") as string | undefined;
  return c.json({ error: { code, message, requestId, ...(details === undefined ? {} : { details }) } }, status);
}
