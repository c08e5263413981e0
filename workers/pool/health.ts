import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/healthz` answers while the process is alive; `/readyz` runs the readiness checks (database,
 * queue) and answers 503 naming what failed, never with an internal error message.
 */
export async function startHealthServer(
  port: number,
  checks: Record<string, () => Promise<void>>,
): Promise<HealthServer> {
  const server: Server = createServer(async (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
      return;
    }
    if (path === "/readyz") {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            await check();
            return [name, "ok"] as const;
          } catch {
            return [name, "unavailable"] as const;
          }
        }),
      );
      const ready = results.every(([, state]) => state === "ok");
      response
        .writeHead(ready ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: ready ? "ready" : "not_ready", checks: Object.fromEntries(results) }));
      return;
    }
    response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "NOT_FOUND" } }));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
