import type { Env } from "./env";

/**
 * The edge's list of tenants stopped for deletion, so their webhooks answer 410 with no database on
 * that path: a Workers KV namespace bound as `TENANT_STATUS` (key: tenant id, value: the purge
 * date), written by `DELETE /v1/tenant` and cleared by the restore. KV is eventually consistent
 * (about a minute) and reads are cached for 60 s, so a stop or a restore reaches every location
 * within a minute or two; the pool, which reads the database, drops a stopped tenant's messages
 * meanwhile. Without the binding webhooks are not checked (the pool still drops them).
 */
export interface StoppedTenants {
  get(key: string, options?: { cacheTtl?: number }): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export function stoppedTenants(env: Env): StoppedTenants | undefined {
  const binding = env.TENANT_STATUS as Partial<StoppedTenants> | undefined;
  return binding && typeof binding.get === "function" && typeof binding.put === "function" ? (binding as StoppedTenants) : undefined;
}

/** Whether the tenant is stopped; a KV failure lets the message through (the pool checks again). */
export async function isStopped(env: Env, tenantId: string): Promise<boolean> {
  try {
    return (await stoppedTenants(env)?.get(tenantId, { cacheTtl: 60 })) != null;
  } catch {
    return false;
  }
}
