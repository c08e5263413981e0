import { Pool, neonConfig } from "@neondatabase/serverless";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEFAULT_POSTGRES_URL, requirePostgres } from "../../test/support/database";
import { startEdge } from "./edge";
import { startWsProxy, type WsProxyHandle } from "./ws-proxy";

/** Resolves with the HTTP status the proxy answered an upgrade with (101 when accepted). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => (ws.terminate(), resolve(101)));
    ws.once("unexpected-response", (_req, res) => (ws.terminate(), resolve(res.statusCode ?? 0)));
    ws.once("error", reject);
  });
}

/**
 * The tests that need the machine's PostgreSQL on 127.0.0.1:5432 call this in `beforeEach`, so with
 * the server down each of them fails saying how to start it (a throwing `beforeAll` would only
 * report them as skipped). One connection attempt serves them all.
 */
let postgresCheck: Promise<unknown> | undefined;
async function needPostgres(): Promise<void> {
  postgresCheck ??= requirePostgres(DEFAULT_POSTGRES_URL).then(
    () => undefined,
    (error: unknown) => error,
  );
  const error = await postgresCheck;
  if (error) throw error;
}

describe("ws-proxy with @neondatabase/serverless", () => {
  let proxy: WsProxyHandle;

  beforeEach(needPostgres);
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
    const pool = new Pool({ connectionString: DEFAULT_POSTGRES_URL });
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

describe("ws-proxy from inside workerd", () => {
  beforeEach(needPostgres);

  it("lets the Neon driver in a worker query PostgreSQL", async () => {
    const proxy = await startWsProxy();
    const edge = await startEdge({
      config: "scripts/stack/fixtures/neon-wrangler.toml",
      vars: { DATABASE_URL: DEFAULT_POSTGRES_URL, WS_PROXY: `127.0.0.1:${proxy.port}/v1` },
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
