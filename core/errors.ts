import type { z } from "zod";

/**
 * The one domain error of `core/`: a stable code, the HTTP status it maps to, a message safe to
 * show, and optional details (field issues, the permission missing). The edge turns it into its
 * error shape (`workers/edge/errors.ts`); the pool and scripts read `code`. The subclasses below are
 * names for the common cases, not other error families.
 *
 * @example throw new DomainError("TOOL_DISABLED", 409, "Enable the tool before testing it.");
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: DomainStatus,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 503: something the verb needs is not configured or not reachable here; its code is the client's code. */
export type DomainStatus = 400 | 402 | 403 | 404 | 409 | 422 | 503;

/** The client-facing code for a status; a DomainError whose code differs carries it as `reason`. */
export const GENERIC_CODES: Record<
  Exclude<DomainStatus, 503>,
  "INVALID_REQUEST" | "PLAN_LIMIT_REACHED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT"
> = {
  400: "INVALID_REQUEST",
  /** The tenant's plan does not allow it: the details say which limit and which plans lift it. */
  402: "PLAN_LIMIT_REACHED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  422: "INVALID_REQUEST",
};

/** No such thing in this tenant (cross-tenant ids answer this too). */
export class NotFoundError extends DomainError {
  constructor(readonly resource: string) {
    super("NOT_FOUND", 404, `No such ${resource}.`);
  }
}

/** The request conflicts with the current state (a name taken, a role still in use). */
export class ConflictError extends DomainError {
  constructor(message: string) {
    super("CONFLICT", 409, message);
  }
}

/** Input that passed the schema but breaks a rule (e.g. editing a built-in role). */
export class InvalidRequestError extends DomainError {
  constructor(message: string) {
    super("INVALID_REQUEST", 400, message);
  }
}

/** A dependency of the verb is missing here (no keyring, no tool runner): 503 with its own code; the client may retry later. */
export class UnavailableError extends DomainError {
  constructor(
    code:
      | "SECRETS_UNAVAILABLE"
      | "CHANNELS_UNAVAILABLE"
      | "TOOL_RUNNER_UNAVAILABLE"
      | "INTEGRATION_NOT_CONFIGURED"
      | "AUTH0_UNAVAILABLE"
      | "BILLING_UNAVAILABLE",
    message: string,
  ) {
    super(code, 503, message);
  }
}

/** Secrets cannot be sealed or opened here: the process has no keyring. */
export const secretsUnavailable = () => new UnavailableError("SECRETS_UNAVAILABLE", "Secrets cannot be stored right now.");

/** A field issue as callers see it: `{ path: "settings.allowedOrigins.0", message }`. */
export interface IssueDetail {
  path: string;
  message: string;
}

/** Validation issues (zod's) as error details: dotted paths and messages only, at most `limit`. */
export function issueDetails(issues: readonly z.core.$ZodIssue[], limit = 10): IssueDetail[] {
  return issues.slice(0, limit).map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

/** The same issues on one line each, for environment checks and logs: `path: message`. */
export function issueLines(issues: readonly z.core.$ZodIssue[]): string[] {
  return issueDetails(issues, issues.length).map((issue) => `${issue.path || "(root)"}: ${issue.message}`);
}

/**
 * Parses with a schema or throws a DomainError (422 unless told) carrying the issues as details.
 *
 * @example const input = parseOrThrow(createToolInput, body, { code: "INVALID_TOOL", message: "The tool definition is invalid." });
 */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  failure: { code: string; message: string; status?: DomainStatus; limit?: number },
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new DomainError(failure.code, failure.status ?? 422, failure.message, issueDetails(parsed.error.issues, failure.limit));
  }
  return parsed.data;
}

/** The SQLSTATE behind a driver or drizzle error (drizzle wraps the driver's error in `cause`). */
export function sqlState(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === "string" && /^[0-9A-Z]{5}$/.test(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}

/** `23505 unique_violation` → ConflictError with a message safe to show. */
export async function conflictOnDuplicate<T>(work: Promise<T>, message: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (sqlState(error) === "23505") throw new ConflictError(message);
    throw error;
  }
}
