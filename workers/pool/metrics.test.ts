import { describe, expect, it } from "vitest";
import { createPoolMetrics } from "./metrics";

const value = async (metrics: ReturnType<typeof createPoolMetrics>, name: string, labels: Record<string, string>) => {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
};

describe("pool metrics", () => {
  it("count turns, model calls, tokens, fallbacks and tools with bounded labels", async () => {
    const metrics = createPoolMetrics({ defaultMetrics: false });
    metrics.turn.turnFinished({ channel: "telegram", outcome: "replied", seconds: 12 });
    metrics.turn.turnFinished({ channel: "telegram", outcome: "something a tenant typed", seconds: 0.1 });
    metrics.turn.engineTurn({
      attempts: [
        { provider: "openai", model: "gpt-4o-mini", purpose: "reply", outcome: "timeout", latencyMs: 20_000 },
        { provider: "gemini", model: "my-private-finetune", purpose: "reply", outcome: "ok", latencyMs: 800 },
      ],
      answeredBy: { provider: "gemini", model: "my-private-finetune" },
      inputTokens: 120,
      outputTokens: 30,
      toolCalls: [
        { name: "current_time", ok: true, latencyMs: 3 },
        { name: "acme_crm_lookup", ok: false },
      ],
    });
    metrics.turn.budgetEvent("budget.hard_limit");
    metrics.observeQueueLag(4.5);
    metrics.deadLettered("INVALID_QUEUE_MESSAGE");

    expect(await value(metrics, "agent_turns_total", { channel: "telegram", outcome: "replied" })).toBe(1);
    expect(await value(metrics, "agent_turns_total", { outcome: "other" })).toBe(1);
    expect(await value(metrics, "agent_model_calls_total", { provider: "openai", model: "gpt-4o-mini", outcome: "timeout" })).toBe(1);
    // A model outside the price table is `other`: tenants choose model names freely.
    expect(await value(metrics, "agent_model_tokens_total", { provider: "gemini", model: "other", direction: "input" })).toBe(120);
    expect(await value(metrics, "agent_model_fallbacks_total", { provider: "openai", model: "gpt-4o-mini" })).toBe(1);
    expect(await value(metrics, "agent_tool_calls_total", { tool: "current_time", outcome: "ok" })).toBe(1);
    expect(await value(metrics, "agent_tool_calls_total", { tool: "custom", outcome: "error" })).toBe(1);
    expect(await value(metrics, "agent_budget_events_total", { kind: "budget.hard_limit" })).toBe(1);
    expect(await value(metrics, "agent_queue_lag_seconds", {})).toBe(4.5);
    expect(await value(metrics, "agent_dead_lettered_total", { code: "INVALID_QUEUE_MESSAGE" })).toBe(1);

    const text = await metrics.registry.metrics();
    // The 12 s turn lands in a bucket between 10 and 15 seconds: buckets reach tens of seconds.
    expect(text).toContain('agent_turn_duration_seconds_bucket{le="10",channel="telegram"} 1');
    expect(text).toContain('agent_turn_duration_seconds_bucket{le="15",channel="telegram"} 2');
    expect(text).not.toContain("acme_crm_lookup");
    expect(text).not.toContain("my-private-finetune");
  });
});
