import type { AccessContext } from "../access/context";

/**
 * The agents verbs run with the same context as every admin verb: principal (tenant, actor,
 * permissions) plus the tenant-scoped transaction. Kept as a name for readability at call sites.
 */
export type DomainContext = AccessContext;

export const actorLabel = (actor: AccessContext["actor"]) => `${actor.type}:${actor.id}`;
