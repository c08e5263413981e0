import { Worker } from "node:worker_threads";

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
 * drivers as production (node-postgres, Neon through a WebSocket proxy) reach it with a URL. It
 * runs on a worker thread of its own (`pglite-thread.mjs`): its queries are synchronous
 * WebAssembly, and on the caller's thread they stalled everything else the process serves (the
 * local stack's SQS emulator and channel fakes) and were stalled by it.
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
  const thread = new Worker(new URL("./pglite-thread.mjs", import.meta.url), {
    workerData: {
      dataDir: opts.dataDir,
      host,
      port: opts.port,
      maxConnections: opts.maxConnections ?? 16,
      // Every protocol message of every connection, for diagnosing the shared queue.
      debug: process.env.PGLITE_SOCKET_DEBUG === "1",
    },
  });
  const exited = new Promise<number>((resolve) => thread.once("exit", resolve));
  const failed = new Promise<never>((_, reject) => {
    thread.once("error", reject);
    void exited.then((code) => reject(new Error(`the PGlite thread exited (code ${code})`)));
  });
  let started = false;
  let closing: Promise<void> | undefined;
  // Raced below while starting and dumping; afterwards a thread that dies is reported here (its
  // clients see their connections refused).
  failed.catch((error: Error) => {
    if (started && !closing) console.error(`PGlite stopped unexpectedly: ${error.message}`);
  });
  let closed: () => void = () => undefined;
  const closedMessage = new Promise<void>((resolve) => (closed = resolve));
  const replies = new Map<number, { resolve(buffer: ArrayBuffer): void; reject(error: Error): void }>();
  let nextId = 0;
  const ready = new Promise<number>((resolve) => {
    thread.on("message", (message: ThreadMessage) => {
      if (message.type === "ready") resolve(message.port);
      if (message.type === "closed") closed();
      if (message.type === "dump") {
        const reply = replies.get(message.id);
        replies.delete(message.id);
        if (message.buffer) reply?.resolve(message.buffer);
        else reply?.reject(new Error(`PGlite could not dump its data directory: ${message.error}`));
      }
    });
  });
  const port = await Promise.race([ready, failed]);
  started = true;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    dumpDataDir: async () => {
      const id = nextId++;
      const buffer = await Promise.race([
        new Promise<ArrayBuffer>((resolve, reject) => {
          replies.set(id, { resolve, reject });
          thread.postMessage({ type: "dump", id });
        }),
        failed,
      ]);
      return new Blob([buffer]);
    },
    close: () => {
      closing ??= (async () => {
        thread.postMessage({ type: "close" });
        // Closed (the data directory flushed), or the thread is already gone.
        await Promise.race([closedMessage, exited]);
        await thread.terminate();
      })();
      return closing;
    },
  };
}

type ThreadMessage =
  { type: "ready"; port: number } | { type: "dump"; id: number; buffer?: ArrayBuffer; error?: string } | { type: "closed" };
