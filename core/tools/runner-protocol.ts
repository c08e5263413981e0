import { z } from "zod";
import { constantTimeEqual, deriveSecret } from "../crypto/hmac";

/**
 * The edge asks the pool to run a tool (`POST /v1/tools/:id/test`) or fetch an OpenAPI document
 * (import by URL), because only the pool can resolve DNS and pin the checked address (workerd has
 * no DNS API); and to run a knowledge base's retrieval test, because the vector store and the
 * embedding models are the pool's. Requests are signed: HMAC-SHA256 over the timestamp and body, keyed from the
 * keyring both sides already hold, and refused outside a one-minute window.
 */
export const RUNNER_SIGNATURE_HEADER = "x-tool-runner-signature";
const PURPOSE = "tool-runner:v1";
const WINDOW_MS = 60_000;

export const runnerTestRequest = z.object({ tenantId: z.uuid(), toolId: z.uuid(), arguments: z.record(z.string(), z.unknown()) });
export const runnerFetchRequest = z.object({ url: z.url().max(2048) });
/** The retrieval test of a knowledge base (`POST /v1/knowledge-bases/:id/query`): what a turn would retrieve. */
export const runnerKnowledgeQuery = z.object({ tenantId: z.uuid(), knowledgeBaseId: z.uuid(), query: z.string().trim().min(1).max(2000) });
export const knowledgeQueryResult = z.object({
  latencyMs: z.number(),
  chunks: z.array(
    z.object({
      chunkId: z.string(),
      sourceId: z.uuid(),
      sourceName: z.string(),
      score: z.number(),
      text: z.string(),
    }),
  ),
});
export type KnowledgeQueryResult = z.infer<typeof knowledgeQueryResult>;
/** An agent test run the edge recorded (`agent_test_runs`), for the pool to run in the background. */
export const runnerTestRunRequest = z.object({ tenantId: z.uuid(), runId: z.uuid() });

export async function signRunnerRequest(signingKey: string, body: string, now = Date.now()): Promise<string> {
  return `${now}.${await deriveSecret(signingKey, PURPOSE, `${now}.${body}`)}`;
}

export async function verifyRunnerRequest(
  signingKey: string,
  body: string,
  header: string | undefined,
  now = Date.now(),
): Promise<boolean> {
  const [stamp, mac] = (header ?? "").split(".");
  const at = Number(stamp);
  if (!stamp || !mac || !Number.isFinite(at) || Math.abs(now - at) > WINDOW_MS) return false;
  return constantTimeEqual(mac, await deriveSecret(signingKey, PURPOSE, `${stamp}.${body}`));
}

/** What the test endpoint shows: the request made (secrets masked) and the response. */
export const toolTestResult = z.object({
  ok: z.boolean(),
  outcome: z.string(),
  latencyMs: z.number(),
  request: z
    .object({ method: z.string(), url: z.string(), headers: z.record(z.string(), z.string()), body: z.string().optional() })
    .nullable(),
  response: z.object({ status: z.number(), bytes: z.number(), body: z.string() }).nullable(),
  /** What the model would see. */
  output: z.string(),
});
export type ToolTestResult = z.infer<typeof toolTestResult>;
