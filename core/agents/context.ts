import type { Transaction } from "../../db/client";

/** Who is acting: a member (user id), an API key (key id), or the platform itself. */
export interface Actor {
  type: "user" | "api_key" | "system";
  id: string;
}

/** Permission names as stored on roles (`agents:read`, `agents:write`...). */
export type Permission = `${string}:${"read" | "write"}`;

/**
 * What every domain verb receives besides its input: the tenant, the actor, a tenant-scoped
 * transaction (`withTenant`) and the permission check. The route layer builds it; the verbs call
 * `authorize` as their first line and scope every query by `tenantId` in the query itself.
 */
export interface DomainContext {
  tenantId: string;
  actor: Actor;
  tx: Transaction;
  /**
   * Throws (the route layer's own forbidden error) unless the actor holds the permission. The
   * hook for the /v1 conventions' permission check; tests pass an allow-all or deny-all.
   */
  authorize(permission: Permission): void | Promise<void>;
}

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

export const actorLabel = (actor: Actor) => `${actor.type}:${actor.id}`;
