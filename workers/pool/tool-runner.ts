import { and, eq } from "drizzle-orm";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Keyring } from "../../core/crypto/secrets";
import { SafeFetchError } from "../../core/http/safe-fetch";
import { describeError, type Logger } from "../../core/observability/log";
import { runTool } from "../../core/tools/execute";
import {
  RUNNER_SIGNATURE_HEADER,
  runnerFetchRequest,
  runnerKnowledgeQuery,
  runnerTestRunRequest,
  type KnowledgeQueryResult,
  runnerTestRequest,
  verifyRunnerRequest,
  type ToolTestResult,
} from "../../core/tools/runner-protocol";
import type { Database } from "../../db/client";
import { tools } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { openTool, recordOf, type ToolRuntime } from "./tools";
import { SecretDecryptionError } from "../../core/crypto/secrets";
import type { KnowledgeRequest, RetrievedChunk } from "../../core/knowledge/service";

export interface ToolRunner {
  port: number;
  close(): Promise<void>;
}

/**
 * The pool's tool runner for the edge (core/tools/runner-protocol.ts): `POST /tools/test` runs a
 * tenant's tool through the SSRF-safe client and answers what was sent (masked) and received;
 * `POST /documents/fetch` fetches an OpenAPI document the same way; `POST /knowledge/query` runs a
 * knowledge base's retrieval as a turn would. Signed requests only.
 */
export async function startToolRunner(options: {
  port: number;
  host?: string;
  db: Database;
  keyring: Keyring;
  signingKey: string;
  runtime: ToolRuntime;
  logger: Logger;
  /** Retrieval as a turn does it; absent when the pool has no knowledge store (then 503). */
  knowledge?: (request: KnowledgeRequest) => Promise<RetrievedChunk[]>;
  /** Runs an agent test run the edge recorded (workers/pool/test-runs.ts); it stores its own results. */
  testRuns?: (run: { tenantId: string; runId: string }) => Promise<void>;
}): Promise<ToolRunner> {
  const server: Server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of request) {
        size += (chunk as Buffer).length;
        if (size > 64 * 1024) return reply(413, { error: "PAYLOAD_TOO_LARGE" });
        chunks.push(chunk as Buffer);
      }
      const body = Buffer.concat(chunks).toString("utf8");
      if (
        request.method !== "POST" ||
        !(await verifyRunnerRequest(options.signingKey, body, request.headers[RUNNER_SIGNATURE_HEADER] as string | undefined))
      ) {
        return reply(401, { error: "UNAUTHORIZED" });
      }
      const path = (request.url ?? "/").split("?")[0];
      if (path === "/tools/test") {
        const input = runnerTestRequest.safeParse(JSON.parse(body));
        if (!input.success) return reply(400, { error: "INVALID_BODY" });
        const { tenantId, toolId } = input.data;
        const row = await withTenant(
          options.db,
          tenantId,
          async (tx) =>
            (
              await tx
                .select()
                .from(tools)
                .where(and(eq(tools.tenantId, tenantId), eq(tools.id, toolId)))
            )[0],
        );
        if (!row) return reply(404, { error: "NOT_FOUND" });
        let runnable: Awaited<ReturnType<typeof openTool>>;
        try {
          runnable = await openTool(options.keyring, row);
        } catch (error) {
          // Sealed under a key no longer in the keyring, or damaged: only new credentials fix it.
          if (error instanceof SecretDecryptionError) return reply(409, { error: "SECRET_UNREADABLE" });
          throw error;
        }
        const result = await runTool(runnable, input.data.arguments, options.runtime);
        options.logger.log(result.ok ? "info" : "warn", "tool.test", { tenantId, ...recordOf(runnable, result) });
        const answer: ToolTestResult = {
          ok: result.ok,
          outcome: result.outcome,
          latencyMs: result.latencyMs,
          request: result.request ?? null,
          response:
            result.status !== undefined ? { status: result.status, bytes: result.responseBytes, body: result.responseBody ?? "" } : null,
          output: result.output,
        };
        return reply(200, answer);
      }
      if (path === "/documents/fetch") {
        const input = runnerFetchRequest.safeParse(JSON.parse(body));
        if (!input.success) return reply(400, { error: "INVALID_BODY" });
        try {
          const fetched = await options.runtime.fetch({
            url: input.data.url,
            timeoutMs: 10_000,
            maxResponseBytes: 2 * 1024 * 1024,
            headers: { accept: "application/json, application/yaml, text/yaml, */*" },
          });
          return reply(200, { status: fetched.status, body: fetched.text() });
        } catch (error) {
          if (error instanceof SafeFetchError) return reply(200, { error: error.code, message: error.message });
          throw error;
        }
      }
      if (path === "/knowledge/query") {
        const input = runnerKnowledgeQuery.safeParse(JSON.parse(body));
        if (!input.success) return reply(400, { error: "INVALID_BODY" });
        if (!options.knowledge) return reply(503, { error: "KNOWLEDGE_UNAVAILABLE" });
        const started = performance.now();
        const chunks = await options.knowledge({
          tenantId: input.data.tenantId,
          knowledgeBaseIds: [input.data.knowledgeBaseId],
          sourceIds: [],
          query: input.data.query,
        });
        const answer: KnowledgeQueryResult = {
          latencyMs: Math.round(performance.now() - started),
          chunks: chunks.map(({ chunkId, sourceId, sourceName, score, text }) => ({ chunkId, sourceId, sourceName, score, text })),
        };
        return reply(200, answer);
      }
      if (path === "/agents/test-runs") {
        const input = runnerTestRunRequest.safeParse(JSON.parse(body));
        if (!input.success) return reply(400, { error: "INVALID_BODY" });
        if (!options.testRuns) return reply(503, { error: "TEST_RUNS_UNAVAILABLE" });
        // Accepted at once; the run writes its results to its row, which the edge reads.
        void options.testRuns(input.data).catch((error: unknown) => options.logger.log("error", "test_run.crashed", describeError(error)));
        return reply(202, { accepted: true });
      }
      return reply(404, { error: "NOT_FOUND" });
    } catch (error) {
      options.logger.log("error", "tool_runner.failed", describeError(error));
      if (!response.headersSent) reply(500, { error: "INTERNAL" });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
