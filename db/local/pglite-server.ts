import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface PgliteServerOptions {
  /** Directory for the data files; undefined keeps the database in memory. */
  dataDir?: string;
  host?: "127.0.0.1";
  /** 0 picks a free port. */
  port: number;
  /** Simultaneous client connections (pool + edge proxy + migrations). Default 16. */
  maxConnections?: number;
}

export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  url: string;
  port: number;
  /** Stops accepting, drops the clients, then closes PGlite (flushing a dataDir). */
  close(): Promise<void>;
  /**
   * The data directory as a gzipped tarball, taken between two queries of the one backend after a
   * checkpoint (so little WAL to replay when it is loaded): `npm run backup` of a running stack.
   */
  dumpDataDir(): Promise<Blob>;
}

/**
 * Embedded PostgreSQL (PGlite, WebAssembly) behind a real TCP socket on loopback, so the same
 * drivers as production (node-postgres, Neon through a WebSocket proxy) reach it with a URL.
 *
 * How several clients share it: PGlite is ONE backend session. pglite-socket queues each
 * protocol message from every connection on one queue and runs them one at a time; while that
 * session is inside an explicit transaction block (after BEGIN) it only takes messages from the
 * connection that opened it, so whole transactions never interleave. Outside a BEGIN block,
 * messages of different connections can interleave between Parse and Sync of an extended-protocol
 * query, and session state (SET without LOCAL, SET ROLE, prepared statements, temp tables) is
 * shared by every connection. Hence: run application queries in transactions (`withTenant`), or
 * use a pool of 1 for bare parameterised queries. See db/local/pglite-server.int.test.ts.
 *
 * @example
 * const server = await startPgliteServer({ port: 0 });
 * await migrateDatabase(server.url);
 */
export async function startPgliteServer(opts: PgliteServerOptions): Promise<PgliteServer> {
  const host = opts.host ?? "127.0.0.1";
  const db = await PGlite.create(opts.dataDir ? { dataDir: opts.dataDir } : {});
  const server = new PGLiteSocketServer({
    db,
    host,
    port: opts.port,
    maxConnections: opts.maxConnections ?? 16,
    // Every protocol message of every connection, for diagnosing the shared queue.
    debug: process.env.PGLITE_SOCKET_DEBUG === "1",
  });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const port = Number(server.getServerConn().split(":").pop());
  let closing: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    dumpDataDir: async () => {
      await db.exec("checkpoint");
      return db.dumpDataDir("gzip");
    },
    close: () => {
      closing ??= (async () => {
        await server.stop();
        // Let detached handlers roll back an open transaction before PGlite goes away.
        await new Promise((resolve) => setImmediate(resolve));
        await db.close();
      })();
      return closing;
    },
  };
}
