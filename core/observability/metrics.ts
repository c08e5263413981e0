import type { ModelAttemptRecord, ToolCallRecord } from "../../db/schema/usage";
import { OFFLINE_MODEL_NAME } from "../engine/offline-model";
import { PRICE_TABLE } from "../engine/pricing";
import { BUILTIN_TOOL_NAMES } from "../engine/tools";
import { channelKinds } from "../../db/schema/channels";

/**
 * What a turn reports to the process's metrics. Runtime-agnostic: the pool implements it with
 * prom-client (workers/pool/metrics.ts); everything else gets {@link noopTurnMetrics}. Callers pass
 * raw values; implementations bound every label with the helpers below (no tenant ids, no
 * tenant-defined names), so a label's values stay a small known set.
 */
export interface TurnMetrics {
  /** One queue message finished its turn (`outcome`: the turn's outcome, or an error code). */
  turnFinished(event: { channel: string; outcome: string; seconds: number }): void;
  /** The engine answered (or failed): every model attempt, tokens of the answering model, tool calls. */
  engineTurn(event: {
    attempts: readonly ModelAttemptRecord[];
    answeredBy?: { provider: string; model: string } | undefined;
    inputTokens: number;
    outputTokens: number;
    toolCalls: readonly (ToolCallRecord & { latencyMs?: number })[];
  }): void;
  /** `budget.soft_limit`, `budget.hard_limit`. */
  budgetEvent(kind: string): void;
  /** How long one stage of a turn took (`npm run bench:turns` reads these back as a table). */
  stage(stage: TurnStage, seconds: number): void;
}

/**
 * The stages a turn's latency is broken into: waiting in the queue (SQS `SentTimestamp` to
 * receipt), reading the channel and context and storing the inbound message, deciding the reply
 * (engine and model calls; `agent_model_call_duration_seconds` has the model's part), recording it,
 * sending it through the channel, and deleting the queue message.
 */
export const TURN_STAGES = ["queue", "context", "decide", "record", "send", "delete"] as const;
export type TurnStage = (typeof TURN_STAGES)[number];

export const noopTurnMetrics: TurnMetrics = {
  turnFinished() {},
  engineTurn() {},
  budgetEvent() {},
  stage() {},
};

/** Runs `work` and reports how long it took as `stage`, whether it resolves or throws. */
export async function timedStage<T>(metrics: TurnMetrics | undefined, stage: TurnStage, work: () => Promise<T>): Promise<T> {
  if (!metrics) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    metrics.stage(stage, (performance.now() - started) / 1000);
  }
}

const PROVIDERS = new Set([...Object.keys(PRICE_TABLE), "offline", "none"]);
const CHANNELS = new Set<string>(channelKinds);
const BUILTIN_TOOLS = new Set<string>(BUILTIN_TOOL_NAMES);

/** A provider label: one of the providers the platform knows, else `other`. */
export function providerLabel(provider: string): string {
  return PROVIDERS.has(provider) ? provider : "other";
}

/** A model label: a model of the price table (or the offline model), else `other`: tenants choose model names freely. */
export function modelLabel(provider: string, model: string): string {
  if (provider === "none") return "none";
  if (provider === "offline") return model === OFFLINE_MODEL_NAME ? model : "other";
  const table = (PRICE_TABLE as Record<string, Record<string, unknown>>)[provider];
  return table && Object.hasOwn(table, model) ? model : "other";
}

export function channelLabel(channel: string): string {
  return CHANNELS.has(channel) ? channel : "other";
}

/** Built-in tools by name; tenant-defined tools (their names are the tenant's) as `custom`. */
export function toolLabel(name: string): string {
  return BUILTIN_TOOLS.has(name) ? name : "custom";
}
