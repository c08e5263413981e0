import { Pool as NeonPool, neonConfig } from "@neondatabase/serverless";
import type { Assume, ExtractTablesWithRelations } from "drizzle-orm";
import { drizzle as drizzleNeon } from "drizzle-orm/neon-serverless";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import pg from "pg";
import { clientNamingStatements } from "./prepared";
import * as schema from "./schema";

export { schema };
export type Schema = typeof schema;

/**
 * A drizzle database with the whole schema attached, whichever driver is underneath
 * (node-postgres in the worker pool, Neon serverless at the edge). Domain code takes this type,
 * so it never depends on a driver.
 */
export type Database = PgDatabase<QueryResultHKT, Schema>;

/** The transaction handle `withTenant` passes to its callback. */
export type Transaction = PgTransaction<QueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;

/**
 * What `db.execute(sql)` returns with either driver: both give pg's `QueryResult` shape, so raw
 * SQL results stay typed (`rows`, `rowCount`) without naming a driver.
 */
export interface QueryResultHKT extends PgQueryResultHKT {
  type: QueryRows<Assume<this["row"], Record<string, unknown>>>;
}

export interface QueryRows<TRow> {
  rows: TRow[];
  rowCount: number | null;
}

export interface PoolDbOptions {
  /** Pool size; PGlite serialises everything anyway, so more than a few buys nothing there. */
  max?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
  idleTimeoutMillis?: number;
  /** Prepare repeated statements by name on each connection (db/prepared.ts). Default off; the pool turns it on. */
  preparedStatements?: boolean;
}

export interface DbHandle<TPool> {
  db: Database;
  pool: TPool;
  /** Ends the pool; pending queries finish first. */
  close(): Promise<void>;
}

/**
 * The Node worker pool's database: a node-postgres Pool under drizzle. One per process.
 *
 * @example
 * const { db, close } = createPoolDb(process.env.DATABASE_URL!);
 * await withTenant(db, tenantId, (tx) => tx.select().from(agents));
 */
export function createPoolDb(url: string, opts: PoolDbOptions = {}): DbHandle<pg.Pool> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    idleTimeoutMillis: opts.idleTimeoutMillis ?? 10_000,
    application_name: opts.applicationName ?? "agent-platform",
    ...(opts.preparedStatements ? { Client: clientNamingStatements() } : {}),
  });
  // An idle client losing its connection (server restart, PGlite stopped) must not crash the process.
  pool.on("error", () => {});
  const db = drizzleNodePg(pool, { schema });
  return { db, pool, close: () => pool.end() };
}

export interface EdgeDbOptions {
  /**
   * `host:port` of a loopback WebSocket→TCP proxy, for local runs against a plain PostgreSQL or
   * PGlite. Unset in production, where Neon's own WebSocket endpoint is used over TLS.
   */
  wsProxy?: string;
  /** WebSocket implementation where there is no global one (Node 20: pass `ws`). */
  webSocketConstructor?: typeof neonConfig.webSocketConstructor;
  max?: number;
}

/**
 * The edge's database: Neon's serverless driver speaks the Postgres protocol over a WebSocket,
 * the only way out of a Cloudflare Worker. Create it per request (Workers may not share I/O
 * objects between requests) and `close()` it in `ctx.waitUntil`.
 *
 * Note: `neonConfig` is process-global in the driver, so the proxy settings apply to every Neon
 * pool in this isolate; that matches how a Worker runs (one environment per isolate).
 */
export function createEdgeDb(url: string, opts: EdgeDbOptions = {}): DbHandle<NeonPool> {
  if (opts.webSocketConstructor) neonConfig.webSocketConstructor = opts.webSocketConstructor;
  if (opts.wsProxy) {
    const proxy = opts.wsProxy;
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new NeonPool({ connectionString: url, max: opts.max ?? 5 });
  pool.on("error", () => {});
  pool.on("connect", closeSocketOnEnd);
  const db = drizzleNeon(pool, { schema });
  return { db, pool, close: () => pool.end() };
}

/**
 * The Neon driver's socket shim has `write(data, encoding, callback)`, but node-postgres ends a
 * connection with `write(terminate, callback)`: the callback (which closes the WebSocket) lands in
 * the encoding slot and never runs, so every `pool.end()` leaked its connection (PGlite's connection
 * limit was reached after a few dozen admin API requests). Accept both call shapes.
 */
function closeSocketOnEnd(client: unknown): void {
  const stream = (client as { connection?: { stream?: { write?: (...args: unknown[]) => unknown } } }).connection?.stream;
  if (!stream?.write) return;
  const write = stream.write.bind(stream);
  stream.write = (data: unknown, encoding?: unknown, callback?: unknown) =>
    typeof encoding === "function" ? write(data, undefined, encoding) : write(data, encoding, callback);
}
