import type { Transaction } from "../../db/client";
import type { AuditActorType } from "../../db/schema";
import type { Permission } from "./permissions";

/**
 * Who is calling, always inside exactly one tenant: a signed-in user, an API key, or `system`
 * (operator scripts such as `npm run apikey`, which never come through the API).
 */
export interface Actor {
  type: AuditActorType;
  /** The user id or the API key id. */
  id: string;
  /** Set for users: used for "created by" columns. */
  userId?: string;
}

/** The caller as authentication established it, before any transaction is open. */
export interface Principal {
  tenantId: string;
  actor: Actor;
  role: { id: string; name: string };
  permissions: ReadonlySet<Permission>;
  /** The tenant's CORS origins, as stored in its settings. */
  allowedOrigins: readonly string[];
}

/**
 * What every domain verb receives as `ctx`: the principal plus a transaction already scoped to
 * the tenant (`withTenant`), so the change and its audit record commit or roll back together.
 */
export interface AccessContext extends Principal {
  tx: Transaction;
  requestId?: string;
}

/** The shape every verb has, so callers (HTTP, scripts, tools) invoke them the same way. */
export type Verb<I, O> = (args: { ctx: AccessContext; input: I }) => Promise<O>;
