import { AIMessage } from "@langchain/core/messages";
import { createMiddleware, modelFallbackMiddleware } from "langchain";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { candidateKey, type ModelCandidate } from "../tenants/settings";
import type { ModelAttemptRecord } from "../../db/schema/usage";

export class EmptyReplyError extends Error {
  readonly code = "MODEL_EMPTY_REPLY";
}

export class ModelTimeoutError extends Error {
  readonly code = "MODEL_TIMEOUT";
}

/** One attempt with its token usage (kept in memory for costing; the record keeps the rest). */
export interface Attempt extends ModelAttemptRecord {
  candidate: ModelCandidate;
  inputTokens: number;
  outputTokens: number;
}

/**
 * The model middleware of one engine run, in LangChain's agent middleware:
 * - LangChain's `modelFallbackMiddleware` (outermost) tries the chain's next candidate when a call
 *   throws;
 * - our attempt guard (inside it, so it sees every candidate's call) turns a hang into a
 *   `ModelTimeoutError` after `timeoutMs` and an empty answer into an `EmptyReplyError`, so both
 *   fall back too, and records each attempt (candidate, outcome, HTTP status, latency, tokens):
 *   the turn's fallback path. The library's fallback middleware neither reports which model
 *   answered nor treats an empty answer as a failure, hence the guard.
 */
export function fallbackMiddleware(options: {
  chain: Array<{ candidate: ModelCandidate; model: BaseChatModel }>;
  timeoutMs: number;
  purpose: ModelAttemptRecord["purpose"];
  attempts: Attempt[];
}) {
  const byModel = new Map<unknown, ModelCandidate>(options.chain.map((entry) => [entry.model, entry.candidate]));
  const guard = createMiddleware({
    name: "ModelAttemptGuard",
    wrapModelCall: async (request, handler) => {
      const candidate = byModel.get(request.model) ?? { provider: "offline" as const, model: "unknown" };
      const started = performance.now();
      const record = (outcome: ModelAttemptRecord["outcome"], extra: Partial<Attempt> = {}) =>
        options.attempts.push({
          candidate,
          provider: candidate.provider,
          model: candidate.model,
          purpose: options.purpose,
          outcome,
          latencyMs: Math.round(performance.now() - started),
          inputTokens: 0,
          outputTokens: 0,
          ...extra,
        });
      try {
        const response = await withTimeout(Promise.resolve(handler(request)), options.timeoutMs, candidate);
        if (AIMessage.isInstance(response)) {
          const usage = response.usage_metadata;
          const tokens = { inputTokens: usage?.input_tokens ?? 0, outputTokens: usage?.output_tokens ?? 0 };
          if (!response.text.trim() && !response.tool_calls?.length) {
            record("empty", tokens);
            throw new EmptyReplyError(`${candidateKey(candidate)} returned an empty answer`);
          }
          record("ok", tokens);
        } else {
          record("ok");
        }
        return response;
      } catch (error) {
        if (!(error instanceof EmptyReplyError)) {
          const status = httpStatus(error);
          record(classify(error, status), status === undefined ? {} : { status });
        }
        throw error;
      }
    },
  });
  const fallbacks = options.chain.slice(1).map((entry) => entry.model);
  return [modelFallbackMiddleware(...fallbacks), guard];
}

function withTimeout<T>(promise: Promise<T>, ms: number, candidate: ModelCandidate): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ModelTimeoutError(`${candidateKey(candidate)} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The HTTP status behind a provider SDK error, wherever the SDK keeps it. */
export function httpStatus(error: unknown): number | undefined {
  let current = error as Record<string, unknown> | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    for (const key of ["status", "statusCode", "status_code"]) {
      const value = current[key];
      if (typeof value === "number" && value >= 100 && value < 600) return value;
    }
    const metadata = current.$metadata as { httpStatusCode?: unknown } | undefined;
    if (typeof metadata?.httpStatusCode === "number") return metadata.httpStatusCode;
    const response = current.response as { status?: unknown } | undefined;
    if (typeof response?.status === "number") return response.status;
    current = current.cause as Record<string, unknown> | undefined;
  }
  return undefined;
}

function classify(error: unknown, status: number | undefined): ModelAttemptRecord["outcome"] {
  if (status === 429) return "rate_limited";
  let current = error as { name?: unknown; code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof ModelTimeoutError || current.name === "TimeoutError" || current.code === "ETIMEDOUT") return "timeout";
    if (typeof current.name === "string" && /timeout/i.test(current.name)) return "timeout";
    current = current.cause as typeof current;
  }
  if (/\b429\b|rate.?limit/i.test(String((error as Error)?.message ?? ""))) return "rate_limited";
  return "error";
}
