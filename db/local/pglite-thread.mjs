// The thread behind startPgliteServer (pglite-server.ts): one PGlite and its socket server, on a
// thread of their own so that every query the database runs (WebAssembly, synchronous) does not
// stall the event loop of the process that started it (in `npm start` and the benchmarks: the SQS
// emulator, the channel fakes and the load generators).
// Plain JavaScript so a worker thread loads it without a TypeScript loader (tsx, vitest).
//
// Messages: the thread posts { type: "ready", port } once listening; it answers { type: "dump", id }
// with { type: "dump", id, buffer } or { type: "dump", id, error }, and { type: "close" } with
// { type: "closed" } once the server and the database are closed.
import { setImmediate } from "node:timers";
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const { dataDir, host, port, maxConnections, debug } = workerData;
const db = await PGlite.create(dataDir ? { dataDir } : {});
const server = new PGLiteSocketServer({ db, host, port, maxConnections, debug });
try {
  await server.start();
} catch (error) {
  await db.close();
  throw error;
}
parentPort.postMessage({ type: "ready", port: Number(server.getServerConn().split(":").pop()) });

let closing;
parentPort.on("message", (message) => {
  if (message.type === "dump") {
    (async () => {
      await db.exec("checkpoint");
      const buffer = await (await db.dumpDataDir("gzip")).arrayBuffer();
      parentPort.postMessage({ type: "dump", id: message.id, buffer }, [buffer]);
    })().catch((error) => parentPort.postMessage({ type: "dump", id: message.id, error: String(error?.message ?? error) }));
  } else if (message.type === "close") {
    closing ??= (async () => {
      await server.stop();
      // Let detached handlers roll back an open transaction before PGlite goes away.
      await new Promise((resolve) => setImmediate(resolve));
      await db.close();
      parentPort.postMessage({ type: "closed" });
    })();
  }
});
