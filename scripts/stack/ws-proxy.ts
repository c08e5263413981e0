import { createServer, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, createWebSocketStream, type WebSocket } from "ws";

export interface WsProxyOptions {
  /** Port on 127.0.0.1; 0 or absent lets the kernel choose. */
  port?: number;
  /**
   * Targets the proxy may reach: `"host"` (any port) or `"host:port"`, compared with the
   * literal `address` the client asked for (no DNS lookup, so no rebinding tricks).
   * Default: loopback only (`127.0.0.1`, `localhost`, `::1`).
   */
  allowedTargets?: readonly string[];
  /**
   * Browsers send an `Origin` header and any web page may open a WebSocket to loopback;
   * refusing such requests keeps a page from reaching a trust-auth database through us.
   * The Neon driver under Node and workerd sends none. Default false.
   */
  allowBrowserOrigins?: boolean;
}

export interface WsProxyHandle {
  /** `ws://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** What `neonConfig.wsProxy` should return for a database at `host:port`. */
  wsProxy(host: string, port: number | string): string;
  stop(): Promise<void>;
}

const DEFAULT_TARGETS = ["127.0.0.1", "localhost", "::1"];

/**
 * Starts a loopback WebSocket→TCP proxy so `@neondatabase/serverless` (which only speaks
 * WebSocket) can reach a plain PostgreSQL or pglite-socket, from Node or from workerd.
 * It relays only to `allowedTargets`: never an open relay.
 *
 * @example
 * const proxy = await startWsProxy({});
 * neonConfig.wsProxy = proxy.wsProxy; // with useSecureWebSocket, pipelineTLS, pipelineConnect = false
 */
export async function startWsProxy(options: WsProxyOptions = {}): Promise<WsProxyHandle> {
  const allowed = new Set((options.allowedTargets ?? DEFAULT_TARGETS).map((t) => t.toLowerCase()));
  const server = createServer((_req, res) => res.writeHead(426, { "content-type": "text/plain" }).end("websocket only\n"));
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<Socket>();

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = parseTarget(req);
    const refusal = refuse(req, target, allowed, options.allowBrowserOrigins ?? false);
    if (refusal || !target) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => relay(ws, target, sockets));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port ?? 0, host: "127.0.0.1" }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("ws-proxy: no port");
  const port = address.port;

  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    wsProxy: (host, targetPort) => `127.0.0.1:${port}/v1?address=${host}:${targetPort}`,
    async stop() {
      for (const ws of wss.clients) ws.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function relay(ws: WebSocket, target: { host: string; port: number }, sockets: Set<Socket>): void {
  const tcp = connect({ host: target.host, port: target.port });
  tcp.setNoDelay(true);
  sockets.add(tcp);
  const stream = createWebSocketStream(ws);
  const close = () => {
    sockets.delete(tcp);
    tcp.destroy();
    stream.destroy();
  };
  tcp.on("error", close).on("close", close);
  stream.on("error", close).on("close", close);
  stream.pipe(tcp).pipe(stream);
}

function refuse(
  req: IncomingMessage,
  target: { host: string; port: number } | undefined,
  allowed: ReadonlySet<string>,
  allowBrowserOrigins: boolean,
): string | undefined {
  if (!target) return "400 Bad Request";
  if (req.headers.origin !== undefined && !allowBrowserOrigins) return "403 Forbidden";
  if (!allowed.has(target.host) && !allowed.has(`${target.host}:${target.port}`)) return "403 Forbidden";
  return undefined;
}

/** Reads `?address=host:port` (IPv6 in brackets) from the request URL. */
function parseTarget(req: IncomingMessage): { host: string; port: number } | undefined {
  const url = new URL(req.url ?? "/", "http://proxy.invalid");
  const address = url.searchParams.get("address");
  if (!address) return undefined;
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const host = address
    .slice(0, colon)
    .replace(/^\[(.*)\]$/, "$1")
    .toLowerCase();
  const port = Number(address.slice(colon + 1));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}
