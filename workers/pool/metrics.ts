import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { channelLabel, modelLabel, providerLabel, toolLabel, type TurnMetrics } from "../../core/observability/metrics";

/** Turn latency: queue message in → turn finished. Buckets up to a minute: a slow model and a retried send take tens of seconds. */
const TURN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60];
/** From a millisecond (a local or cached model) to a minute (a slow provider). */
const MODEL_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60];
/** Turn outcomes (workers/pool/turn.ts) and the consumer's failure classes: the `outcome` label's values. */
export const TURN_OUTCOMES = [
  "replied",
  "already_replied",
  "channel_paused",
  "send_failed",
  "handed_off",
  "ignored",
  "deferred",
  "status_recorded",
  "sender_limited",
  "opted_out",
  "error",
  "transient_error",
  "all_models_failed",
  "released",
] as const;
const TOOL_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
/** Stages are milliseconds on the fast path and seconds when a provider is slow. */
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The pool's Prometheus metrics (prom-client), served at `/metrics` by the health server. Labels
 * are bounded: channel kind, outcome, provider and model from the price table, built-in tool
 * names; never a tenant id or a tenant-defined string.
 */
export interface PoolMetrics {
  registry: Registry;
  turn: TurnMetrics;
  /** Age in seconds of the oldest message in the last batch received (from SQS `SentTimestamp`). */
  observeQueueLag(seconds: number): void;
  deadLettered(code: string): void;
  ingestionJob(outcome: "succeeded" | "failed"): void;
  alertDelivery(channel: "email" | "webhook", outcome: "delivered" | "failed"): void;
}

export function createPoolMetrics(options: { defaultMetrics?: boolean } = {}): PoolMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "pool_" });
  const registers = [registry];

  const turns = new Counter({
    name: "agent_turns_total",
    help: "Queue messages whose turn finished, by channel kind and outcome.",
    labelNames: ["channel", "outcome"],
    registers,
  });
  const turnSeconds = new Histogram({
    name: "agent_turn_duration_seconds",
    help: "Turn latency, queue message picked up to turn finished.",
    labelNames: ["channel"],
    buckets: TURN_BUCKETS,
    registers,
  });
  const modelCalls = new Counter({
    name: "agent_model_calls_total",
    help: "Model calls by provider, model and outcome (ok, rate_limited, timeout, empty, error).",
    labelNames: ["provider", "model", "outcome"],
    registers,
  });
  const modelSeconds = new Histogram({
    name: "agent_model_call_duration_seconds",
    help: "Model call latency.",
    labelNames: ["provider", "model"],
    buckets: MODEL_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: "agent_model_tokens_total",
    help: "Tokens of answered turns by provider, model and direction.",
    labelNames: ["provider", "model", "direction"],
    registers,
  });
  const fallbacks = new Counter({
    name: "agent_model_fallbacks_total",
    help: "Model calls that failed over to the next candidate.",
    labelNames: ["provider", "model"],
    registers,
  });
  const toolCalls = new Counter({
    name: "agent_tool_calls_total",
    help: "Tool calls by tool (built-in name or custom) and outcome.",
    labelNames: ["tool", "outcome"],
    registers,
  });
  const toolSeconds = new Histogram({
    name: "agent_tool_call_duration_seconds",
    help: "Tool call latency, when the engine measured it.",
    labelNames: ["tool"],
    buckets: TOOL_BUCKETS,
    registers,
  });
  const budget = new Counter({
    name: "agent_budget_events_total",
    help: "Turns past a budget limit, by kind (budget.soft_limit, budget.hard_limit).",
    labelNames: ["kind"],
    registers,
  });
  const stageSeconds = new Histogram({
    name: "agent_turn_stage_seconds",
    help: "Time spent in each stage of a turn (queue, context, decide, record, send, delete).",
    labelNames: ["stage"],
    buckets: STAGE_BUCKETS,
    registers,
  });
  const queueLag = new Gauge({ name: "agent_queue_lag_seconds", help: "Age of the oldest message in the last batch received.", registers });
  const deadLetters = new Counter({
    name: "agent_dead_lettered_total",
    help: "Messages moved to the dead-letter queue, by failure code.",
    labelNames: ["code"],
    registers,
  });
  const ingestion = new Counter({
    name: "agent_ingestion_jobs_total",
    help: "Knowledge ingestion jobs by outcome.",
    labelNames: ["outcome"],
    registers,
  });
  const alertDeliveries = new Counter({
    name: "agent_alert_deliveries_total",
    help: "Tenant alert notifications by channel and outcome.",
    labelNames: ["channel", "outcome"],
    registers,
  });
  // Zero series up front, so rate() and absent() see them before the first event.
  turns.inc({ channel: "telegram", outcome: "replied" }, 0);
  deadLetters.inc({ code: "UNKNOWN" }, 0);
  queueLag.set(0);

  const KNOWN_BUDGET = new Set(["budget.soft_limit", "budget.hard_limit"]);
  const KNOWN_OUTCOMES = new Set<string>(TURN_OUTCOMES);
  const KNOWN_CODES = /^[A-Z][A-Z0-9_]{0,40}$/;
  return {
    registry,
    turn: {
      turnFinished({ channel, outcome, seconds }) {
        const labels = { channel: channelLabel(channel), outcome: KNOWN_OUTCOMES.has(outcome) ? outcome : "other" };
        turns.inc(labels);
        turnSeconds.observe({ channel: labels.channel }, seconds);
      },
      engineTurn({ attempts, answeredBy, inputTokens, outputTokens, toolCalls: calls }) {
        for (const [index, attempt] of attempts.entries()) {
          const labels = { provider: providerLabel(attempt.provider), model: modelLabel(attempt.provider, attempt.model) };
          modelCalls.inc({ ...labels, outcome: attempt.outcome });
          modelSeconds.observe(labels, attempt.latencyMs / 1000);
          if (attempt.outcome !== "ok" && attempt.purpose === "reply" && index < attempts.length - 1) fallbacks.inc(labels);
        }
        if (answeredBy) {
          const labels = { provider: providerLabel(answeredBy.provider), model: modelLabel(answeredBy.provider, answeredBy.model) };
          tokens.inc({ ...labels, direction: "input" }, inputTokens);
          tokens.inc({ ...labels, direction: "output" }, outputTokens);
        }
        for (const call of calls) {
          const tool = toolLabel(call.name);
          toolCalls.inc({ tool, outcome: call.ok ? "ok" : "error" });
          if (typeof call.latencyMs === "number") toolSeconds.observe({ tool }, call.latencyMs / 1000);
        }
      },
      budgetEvent(kind) {
        budget.inc({ kind: KNOWN_BUDGET.has(kind) ? kind : "other" });
      },
      stage(stage, seconds) {
        stageSeconds.observe({ stage }, Math.max(0, seconds));
      },
    },
    observeQueueLag: (seconds) => queueLag.set(Math.max(0, seconds)),
    deadLettered: (code) => deadLetters.inc({ code: KNOWN_CODES.test(code) ? code : "OTHER" }),
    ingestionJob: (outcome) => ingestion.inc({ outcome }),
    alertDelivery: (channel, outcome) => alertDeliveries.inc({ channel, outcome }),
  };
}
