import { connect } from "node:net";
import { Pool, neonConfig } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startEdge } from "./edge";
import { startWsProxy, type WsProxyHandle } from "./ws-proxy";

const PG = { host: "127.0.0.1", port: 5432 };
const postgresUp = await new Promise<boolean>((resolve) => {
  const socket = connect(PG).once("connect", () => (socket.destroy(), resolve(true)));
  socket.once("error", () => resolve(false));
});

/** Resolves with the HTTP status the proxy answered an upgrade with (101 when accepted). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => (ws.terminate(), resolve(101)));
    ws.once("unexpected-response", (_req, res) => (ws.terminate(), resolve(res.statusCode ?? 0)));
    ws.once("error", reject);
  });
}

describe.skipIf(!postgresUp)("ws-proxy with @neondatabase/serverless", () => {
  let proxy: WsProxyHandle;

  beforeAll(async () => {
    proxy = await startWsProxy({ allowedTargets: ["127.0.0.1:5432", "localhost:5432"] });
    neonConfig.webSocketConstructor = WebSocket; // Node 20 has no global WebSocket
    neonConfig.wsProxy = proxy.wsProxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  });
  afterAll(() => proxy?.stop());

  it("runs queries through the proxy", async () => {
    const pool = new Pool({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
    try {
      const { rows } = await pool.query("select 1 as one, $1::text as echo", ["hi"]);
      expect(rows).toEqual([{ one: 1, echo: "hi" }]);
      const several = await Promise.all([1, 2, 3].map((n) => pool.query("select $1::int as n", [n])));
      expect(several.map((r) => r.rows[0].n)).toEqual([1, 2, 3]);
    } finally {
      await pool.end();
    }
  });

  it("refuses targets outside the allowlist", async () => {
    const pool = new Pool({ connectionString: "postgres://postgres@127.0.0.1:5433/postgres" });
    try {
      await expect(pool.query("select 1")).rejects.toThrow();
    } finally {
      await pool.end().catch(() => undefined);
    }
    expect(await upgradeStatus(`${proxy.url}/v1?address=example.com:5432`)).toBe(403);
    expect(await upgradeStatus(`${proxy.url}/v1?address=127.0.0.2:5432`)).toBe(403);
    expect(await upgradeStatus(`${proxy.url}/v1?address=nonsense`)).toBe(400);
    expect(await upgradeStatus(`${proxy.url}/v1?address=127.0.0.1:5432`)).toBe(101);
  });

  it("refuses browsers (an Origin header), so a web page cannot reach the database", async () => {
    const status = await upgradeStatus(`${proxy.url}/v1?address=127.0.0.1:5432`, { origin: "https://evil.example" });
    expect(status).toBe(403);
  });
});

describe.skipIf(!postgresUp)("ws-proxy from inside workerd", () => {
  it("lets the Neon driver in a worker query PostgreSQL", async () => {
    const proxy = await startWsProxy();
    const edge = await startEdge({
      config: "scripts/stack/fixtures/neon-wrangler.toml",
      vars: { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres", WS_PROXY: `127.0.0.1:${proxy.port}/v1` },
      output: "quiet",
    });
    try {
      const response = await fetch(`${edge.url}/db`);
      expect(await response.json()).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([edge.stop(), proxy.stop()]);
    }
  });
});

describe("ws-proxy defaults", () => {
  it("allows only loopback targets by default", async () => {
    const proxy = await startWsProxy();
    try {
      expect(await upgradeStatus(`${proxy.url}/v1?address=10.0.0.1:5432`)).toBe(403);
      expect(await upgradeStatus(`${proxy.url}/v1?address=[::1]:5432`)).not.toBe(403);
    } finally {
      await proxy.stop();
    }
  });
});
