import type { Env } from "./env";

/**
 * The edge's list of tenants stopped for deletion, so their webhooks answer 410 with no database on
 * that path: a Workers KV namespace bound as `TENANT_STATUS` (key: tenant id, value: the purge
 * date), written by `DELETE /v1/tenant` and cleared by the restore. KV is eventually consistent
 * (about a minute), reads are cached for 60 s and each isolate keeps what it read for 30 s, so a
 * stop or a restore reaches every location within two minutes or so (at once in the isolate that
 * wrote it); the pool, which reads the database, drops a stopped tenant's messages meanwhile.
 * Without the binding webhooks are not checked (the pool still drops them).
 */
export interface StoppedTenants {
  get(key: string, options?: { cacheTtl?: number }): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The bound list as it is, or undefined without the binding. */
function boundList(env: Env): StoppedTenants | undefined {
  const binding = env.TENANT_STATUS as Partial<StoppedTenants> | undefined;
  return binding && typeof binding.get === "function" && typeof binding.put === "function" ? (binding as StoppedTenants) : undefined;
}

/** The list to write (`DELETE /v1/tenant`, the restore): this isolate's own writes are seen at once. */
export function stoppedTenants(env: Env): StoppedTenants | undefined {
  const list = boundList(env);
  if (!list) return undefined;
  const seen = knownOf(list);
  return {
    get: (key, options) => list.get(key, options),
    put: (key, value) => (seen.delete(key), list.put(key, value)),
    delete: (key) => (seen.delete(key), list.delete(key)),
  };
}

type Known = Map<string, { stopped: boolean; until: number }>;

/**
 * What this isolate last read from a list, for {@link KNOWN_FOR_MS}: every webhook asks, and even
 * a cached KV read is an I/O round trip. Bounded; cleared when full.
 */
const knownByList = new WeakMap<object, Known>();
const KNOWN_FOR_MS = 30_000;
const KNOWN_MAX = 10_000;

function knownOf(list: object): Known {
  let seen = knownByList.get(list);
  if (!seen) knownByList.set(list, (seen = new Map()));
  return seen;
}

/** Whether the tenant is stopped; a KV failure lets the message through (the pool checks again). */
export async function isStopped(env: Env, tenantId: string): Promise<boolean> {
  const list = boundList(env);
  if (!list) return false;
  const known = knownOf(list);
  const now = Date.now();
  const seen = known.get(tenantId);
  if (seen && seen.until > now) return seen.stopped;
  try {
    const stopped = (await list.get(tenantId, { cacheTtl: 60 })) != null;
    if (known.size >= KNOWN_MAX) known.clear();
    known.set(tenantId, { stopped, until: now + KNOWN_FOR_MS });
    return stopped;
  } catch {
    return false;
  }
}
