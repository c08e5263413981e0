import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { sql } from "drizzle-orm";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Database } from "../../db/client";
import type { DependencyChecks } from "./backoff";

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** A check that does not answer within this long counts as failed: a black-holed host must not hang /readyz. */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * The pool's dependencies, as readiness checks: the database (`select 1`), the inbound queue
 * (`GetQueueAttributes`) and, when configured, Chroma (its heartbeat). The consumer runs the same
 * checks before it receives again after a failure.
 */
export function dependencyChecks(options: {
  db: Database;
  sqs: SQSClient;
  queueUrl: string;
  chromaUrl?: string | undefined;
}): DependencyChecks {
  const checks: DependencyChecks = {
    database: async () => {
      await options.db.execute(sql`select 1`);
    },
    queue: async () => {
      await options.sqs.send(new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ["QueueArn"] }), {
        abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
      });
    },
  };
  if (options.chromaUrl) {
    const url = `${options.chromaUrl.replace(/\/$/, "")}/api/v2/heartbeat`;
    checks.chroma = async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`chroma heartbeat answered ${response.status}`);
    };
  }
  return Object.fromEntries(Object.entries(checks).map(([name, check]) => [name, () => withTimeout(check(), CHECK_TIMEOUT_MS)]));
}

/**
 * `/metrics` serves the pool's Prometheus metrics when a registry is given; `/healthz` answers while the process is alive; `/readyz` runs the readiness checks (database,
 * queue, Chroma, and the consumer not draining) and answers 503 naming what failed, never with an
 * internal error message.
 */
export async function startHealthServer(
  port: number,
  checks: DependencyChecks,
  options: { metrics?: Registry } = {},
): Promise<HealthServer> {
  const server: Server = createServer(async (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/metrics" && options.metrics) {
      // Prometheus text exposition (prom-client); identifiers only, no tenant data.
      const body = await options.metrics.metrics();
      response.writeHead(200, { "content-type": options.metrics.contentType }).end(body);
      return;
    }
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
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Rejects when `promise` has not settled after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
