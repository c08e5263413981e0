import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { openEdgeDatabase } from "../middleware/database";
import type { AppEnv } from "../context";

const CHECK_TIMEOUT_MS = 3_000;

/**
 * `/healthz`: liveness, touches nothing downstream (the webhook path needs nothing else).
 * `/readyz`: the database through the admin API's driver (Neon, or pg through Hyperdrive) and the queue, each
 * reported by name; 503 when one is down, never with the internal error.
 */
export const healthRoutes = new Hono<AppEnv>()
  .get("/healthz", (c) => c.json({ status: "ok" }))
  .get("/readyz", async (c) => {
    const { inboundQueue } = c.get("services");
    const checks: Record<string, () => Promise<void>> = { queue: () => inboundQueue.checkReady() };
    // One pool per request: Workers may not share sockets between requests.
    const database = openEdgeDatabase(c, 1);
    if (database) {
      checks.database = async () => {
        try {
          await database.db.execute(sql`select 1`);
        } finally {
          c.executionCtx.waitUntil(database.close());
        }
      };
    }
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS);
          return [name, "ok"] as const;
        } catch (error) {
          c.get("logger").log("warn", "edge.readiness_failed", { check: name, error: error instanceof Error ? error.name : "unknown" });
          return [name, "unavailable"] as const;
        }
      }),
    );
    const ready = results.every(([, state]) => state === "ok");
    return c.json({ status: ready ? "ready" : "not_ready", checks: Object.fromEntries(results) }, ready ? 200 : 503);
  });

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
}
