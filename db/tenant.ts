import { sql } from "drizzle-orm";
import type { Database, Transaction } from "./client";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class InvalidTenantIdError extends Error {
  readonly code = "INVALID_TENANT_ID";
}

/**
 * Runs `fn` in one transaction scoped to a tenant; the only way application code touches tenant
 * data. It first drops to the `agent_app` role for the transaction (`SET LOCAL ROLE`), so forced
 * row-level security applies even when the connection itself is a superuser (PGlite ignores the
 * startup user; admin URLs in scripts), then sets `app.tenant_id`, which every policy reads.
 * Both settings end with the transaction, so a pooled connection never leaks a tenant.
 *
 * Use only `tx` inside `fn`: another query on `db` runs outside the tenant (and on PGlite would
 * wait behind this transaction forever).
 *
 * @example
 * const mine = await withTenant(db, tenantId, (tx) => tx.select().from(agents));
 */
export async function withTenant<T>(db: Database, tenantId: string, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  if (typeof tenantId !== "string" || !UUID.test(tenantId)) {
    throw new InvalidTenantIdError("tenant id must be a uuid");
  }
  return db.transaction(async (tx) => {
    // One round trip for both: `set_config('role', …, true)` is `SET LOCAL ROLE` (the same
    // membership check), and a turn opens several of these transactions.
    await tx.execute(sql`select set_config('role', 'agent_app', true), set_config('app.tenant_id', ${tenantId}, true)`);
    return fn(tx);
  });
}
