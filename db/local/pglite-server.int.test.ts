import { createServer } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebSocketStream, WebSocket, WebSocketServer } from "ws";
import { createEdgeDb, createPoolDb } from "../client";
import { migrateDatabase } from "../migrate";
import { tenants } from "../schema";
import { withTenant } from "../tenant";
import { startPgliteServer, type PgliteServer } from "./pglite-server";

let server: PgliteServer;

beforeAll(async () => {
  server = await startPgliteServer({ host: "127.0.0.1", port: 0 });
  await migrateDatabase(server.url);
});

afterAll(async () => {
  await server?.close();
});

/** The smallest WebSocket→TCP relay the Neon driver accepts (`/v1?address=host:port`). */
async function startTinyWsProxy() {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (ws, req) => {
    const address = new URL(req.url ?? "/", "http://x").searchParams.get("address") ?? "";
    const [host, port] = address.split(":");
    const tcp = connect(Number(port), host);
    const stream = createWebSocketStream(ws);
    stream.pipe(tcp).pipe(stream);
    const end = () => (tcp.destroy(), stream.destroy());
    tcp.on("error", end);
    stream.on("error", end);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

describe("startPgliteServer", () => {
  it("serves several clients at once and keeps each transaction whole", async () => {
    const { db, close } = createPoolDb(server.url, { max: 4 });
    try {
      const tenantIds = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const id = crypto.randomUUID();
          await withTenant(db, id, async (tx) => {
            await tx.insert(tenants).values({ id, name: `t${i}`, slug: `pglite-${id}` });
            // Another client's statement interleaving here would see or change this transaction.
            await tx.execute(sql`select pg_sleep(0.01)`);
            const visible = await tx.select().from(tenants);
            expect(visible.map((t) => t.id)).toEqual([id]);
          });
          return id;
        }),
      );
      expect(new Set(tenantIds).size).toBe(12);
      const distinct = await Promise.all(
        Array.from({ length: 50 }, (_, i) => db.execute<{ v: number; w: number }>(sql.raw(`select ${i}::int as v, ${i}::int + 0 as w`))),
      );
      distinct.forEach((r, i) => expect(r.rows[0]).toEqual({ v: i, w: i }));
    } finally {
      await close();
    }
  });

  it("makes other connections wait while one holds a transaction open", async () => {
    const holder = new pg.Client({ connectionString: server.url });
    const other = new pg.Client({ connectionString: server.url });
    await holder.connect();
    await other.connect();
    try {
      await holder.query("begin");
      let answered = false;
      const waiting = other.query("select 1").then(() => (answered = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(answered).toBe(false);
      await holder.query("commit");
      await waiting;
      expect(answered).toBe(true);
    } finally {
      await holder.end();
      await other.end();
    }
  });

  it("is reachable from the edge driver through a WebSocket proxy", async () => {
    const proxy = await startTinyWsProxy();
    const edge = createEdgeDb(server.url, { wsProxy: proxy.address, webSocketConstructor: WebSocket });
    try {
      const id = crypto.randomUUID();
      await withTenant(edge.db, id, (tx) => tx.insert(tenants).values({ id, name: "edge", slug: `edge-${id}` }));
      const seen = await withTenant(edge.db, id, (tx) => tx.select().from(tenants));
      expect(seen.map((t) => t.id)).toEqual([id]);
    } finally {
      await edge.close();
      await proxy.close();
    }
  });

  it("closes cleanly with clients still connected, and twice", async () => {
    const extra = await startPgliteServer({ port: 0 });
    const client = new pg.Client({ connectionString: extra.url });
    client.on("error", () => {});
    await client.connect();
    await client.query("begin");
    await extra.close();
    await extra.close();
    await expect(client.query("select 1")).rejects.toThrow();
    await client.end().catch(() => {});
  });
});
