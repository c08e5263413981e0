import type { Env } from "./env";

/**
 * The edge's list of tenants stopped for deletion, so their webhooks answer 410 with no database on
 * that path: a Workers KV namespace bound as `TENANT_STATUS` (key: tenant id, value: the purge
 * date), written by `DELETE /v1/tenant` and cleared by the restore. KV is eventually consistent
 * (about a minute), reads are cached for 60 s and each isolate keeps what it read for 30 s, so a stop
 * or a restore reaches every location within two minutes or so (at once in the isolate that wrote it); the pool, which reads the database, drops a stopped tenant's messages
 * meanwhile. Without the binding webhooks are not checked (the pool still drops them).
 */
export interface StoppedTenants {
  get(key: string, options?: { cacheTtl?: number }): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export function stoppedTenants(env: Env): (StoppedTenants & { known: Map<string, { stopped: boolean; until: number }> }) | undefined {
  const binding = env.TENANT_STATUS as Partial<StoppedTenants> | undefined;
  if (!binding || typeof binding.get !== "function" || typeof binding.put !== "function") return undefined;
  const list = binding as StoppedTenants;
  const seen = knownOf(list);
  // This isolate's own writes are seen at once (KV itself takes up to a minute elsewhere).
  return {
    get: (key, options) => list.get(key, options),
    put: (key, value) => (seen.delete(key), list.put(key, value)),
    delete: (key) => (seen.delete(key), list.delete(key)),
    known: seen,
  };
}

/**
 * What this isolate last read from a list, for {@link KNOWN_FOR_MS}: every webhook asks, and even
 * a cached KV read is an I/O round trip. Bounded; cleared when full.
 */
const knownByList = new WeakMap<object, Map<string, { stopped: boolean; until: number }>>();
const KNOWN_FOR_MS = 30_000;
const KNOWN_MAX = 10_000;

function knownOf(list: object): Map<string, { stopped: boolean; until: number }> {
  let seen = knownByList.get(list);
  if (!seen) knownByList.set(list, (seen = new Map()));
  return seen;
}

/** Whether the tenant is stopped; a KV failure lets the message through (the pool checks again). */
export async function isStopped(env: Env, tenantId: string): Promise<boolean> {
  const list = stoppedTenants(env);
  if (!list) return false;
  const now = Date.now();
  const seen = list.known.get(tenantId);
  if (seen && seen.until > now) return seen.stopped;
  try {
    const stopped = (await list.get(tenantId, { cacheTtl: 60 })) != null;
    if (list.known.size >= KNOWN_MAX) list.known.clear();
    list.known.set(tenantId, { stopped, until: now + KNOWN_FOR_MS });
    return stopped;
  } catch {
    return false;
  }
}
