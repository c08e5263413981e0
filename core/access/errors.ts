/**
 * Domain errors of the access and tenant verbs. They carry a stable code; the edge maps them to
 * HTTP (workers/edge/errors.ts) and other callers (scripts, the pool) to whatever suits them.
 */
export class NotFoundError extends Error {
  readonly code = "NOT_FOUND";
  constructor(readonly resource: string) {
    super(`No such ${resource}.`);
  }
}

/** The request conflicts with the current state (a name taken, a role still in use). */
export class ConflictError extends Error {
  readonly code = "CONFLICT";
}

/** Input that passed the schema but breaks a rule (e.g. editing a built-in role). */
export class InvalidRequestError extends Error {
  readonly code = "INVALID_REQUEST";
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
