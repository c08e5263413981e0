import type { AccessContext } from "../access/context";

/**
 * The agents verbs run with the same context as every admin verb: principal (tenant, actor,
 * permissions) plus the tenant-scoped transaction. Kept as a name for readability at call sites.
 */
export type DomainContext = AccessContext;

/** A domain failure with a stable code and the HTTP status it maps to; the message is safe to show. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: 400 | 404 | 409 | 422,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const actorLabel = (actor: AccessContext["actor"]) => `${actor.type}:${actor.id}`;
