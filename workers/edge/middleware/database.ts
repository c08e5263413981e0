import type { Context, MiddlewareHandler } from "hono";
import { createEdgeDb, type Database } from "../../../db/client";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

/** What {@link database} puts on the context. */
export interface DatabaseVariables {
  /** This request's database (Neon serverless driver); reach tenant data only through `withTenant`. */
  db: Database;
}

export interface DatabaseOptions {
  /** Connections for this request; the admin API runs its transactions one after another. Default 1. */
  maxConnections?: number;
}

/**
 * Opens a database pool for this request and closes it after the response, in `waitUntil`
 * (Workers may not share sockets between requests). Answers 503 when no DATABASE_URL is bound.
 */
export function database(options: DatabaseOptions = {}): MiddlewareHandler<AppEnv> {
  const max = options.maxConnections ?? 1;
  if (!Number.isInteger(max) || max < 1 || max > 10) throw new Error("database(): maxConnections must be an integer from 1 to 10");

  return async function database(c, next) {
    const { config } = c.get("services");
    if (!config.DATABASE_URL) throw new ApiError(503, "DATABASE_UNAVAILABLE", "The admin API has no database configured.");
    const handle = createEdgeDb(config.DATABASE_URL, { ...(config.NEON_WS_PROXY ? { wsProxy: config.NEON_WS_PROXY } : {}), max });
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
