import type { Context, MiddlewareHandler } from "hono";
import { createEdgeDb, createPoolDb, type Database, type DbHandle } from "../../../db/client";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

/** What {@link database} puts on the context. */
export interface DatabaseVariables {
  /** This request's database (Neon's serverless driver, or pg through Hyperdrive); reach tenant data only through `withTenant`. */
  db: Database;
}

export interface DatabaseOptions {
  /** Connections for this request; the admin API runs its transactions one after another. Default 1. */
  maxConnections?: number;
}

/**
 * This request's database, by configuration: a `HYPERDRIVE` binding (Aurora or any PostgreSQL
 * through Hyperdrive's pooled connections) with the `pg` driver over Workers' TCP sockets, else
 * DATABASE_URL with Neon's serverless driver over WebSockets; `undefined` when neither is bound.
 * Close it after the response (Workers may not share sockets between requests).
 */
export function openEdgeDatabase(c: Context<AppEnv>, max: number): DbHandle<unknown> | undefined {
  const { config } = c.get("services");
  const hyperdrive = c.env.HYPERDRIVE as { connectionString?: unknown } | undefined;
  if (typeof hyperdrive?.connectionString === "string") {
    // Hyperdrive pools at its end; the Worker's own pool is per request and short-lived.
    return createPoolDb(hyperdrive.connectionString, { max, applicationName: "agent-edge", idleTimeoutMillis: 1_000 });
  }
  if (!config.DATABASE_URL) return undefined;
  return createEdgeDb(config.DATABASE_URL, { ...(config.NEON_WS_PROXY ? { wsProxy: config.NEON_WS_PROXY } : {}), max });
}

/**
 * Opens a database pool for this request ({@link openEdgeDatabase}) and closes it after the
 * response, in `waitUntil`. Answers 503 when no database is bound.
 */
export function database(options: DatabaseOptions = {}): MiddlewareHandler<AppEnv> {
  const max = options.maxConnections ?? 1;
  if (!Number.isInteger(max) || max < 1 || max > 10) throw new Error("database(): maxConnections must be an integer from 1 to 10");

  return async function database(c, next) {
    const handle = openEdgeDatabase(c, max);
    if (!handle) throw new ApiError(503, "DATABASE_UNAVAILABLE", "The admin API has no database configured.");
    c.set("db", handle.db);
    try {
      await next();
    } finally {
      afterResponse(c, handle.close());
    }
  };
}

/** `executionCtx.waitUntil` under a Worker; a plain await where there is none (unit tests on `app.fetch`). */
function afterResponse(c: Context, work: Promise<unknown>): void {
  const settled = work.catch(() => {});
  try {
    c.executionCtx.waitUntil(settled);
  } catch {
    void settled;
  }
}
