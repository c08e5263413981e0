import type { AccessContext } from "../../core/access/context";
import { ALL_PERMISSIONS, type Permission } from "../../core/access/permissions";
import type { Database } from "../../db/client";
import type { TenantGraph } from "../../db/fixtures";
import { withTenant } from "../../db/tenant";

/**
 * Runs a domain verb as the graph's user, an admin holding `permissions` (default: all), in the
 * tenant's transaction. Apart from verbs.ts, which sets up vitest hooks, so benchmarks can use it.
 */
export function runAsMember<I, O>(
  db: Database,
  graph: TenantGraph,
  verb: (args: { ctx: AccessContext; input: I }) => Promise<O>,
  input: I,
  permissions: readonly Permission[] = ALL_PERMISSIONS,
): Promise<O> {
  return withTenant(db, graph.tenant.id, (tx) =>
    verb({
      ctx: {
        tenantId: graph.tenant.id,
        actor: { type: "user", id: graph.user.id },
        role: { id: graph.user.id, name: "admin" },
        permissions: new Set(permissions),
        allowedOrigins: [],
        tx,
      },
      input,
    }),
  );
}
