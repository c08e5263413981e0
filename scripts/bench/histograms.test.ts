import { describe, expect, it } from "vitest";
import { createPoolMetrics } from "../../workers/pool/metrics";
import { difference, mean, quantile, readHistograms } from "./histograms";

describe("histograms read back from /metrics", () => {
  it("groups the pool's stage histogram by stage and subtracts an earlier scrape", async () => {
    const metrics = createPoolMetrics({ defaultMetrics: false });
    metrics.turn.stage("context", 0.004);
    const before = readHistograms(await metrics.registry.metrics(), "agent_turn_stage_seconds", "stage");
    for (const seconds of [0.002, 0.003, 0.004, 0.02]) metrics.turn.stage("context", seconds);
    metrics.turn.stage("send", 0.3);
    const after = readHistograms(await metrics.registry.metrics(), "agent_turn_stage_seconds", "stage");

    const context = difference(after.get("context")!, before.get("context"));
    expect(context.count).toBe(4);
    expect(mean(context)).toBeCloseTo(0.00725, 6);
    // One of four at or under 2.5 ms, two more in (2.5 ms, 5 ms]: the median (rank 2) is halfway into that bucket.
    expect(quantile(context, 0.5)).toBeCloseTo(0.00375, 6);
    expect(quantile(context, 0.75)).toBeCloseTo(0.005, 6);
    expect(quantile(context, 1)).toBeCloseTo(0.025, 6);
    expect(difference(after.get("send")!, before.get("send")).count).toBe(1);
    expect(after.has("decide")).toBe(false);
  });

  it("merges every series when no label is named, and answers NaN for an empty histogram", () => {
    const text = [
      "# HELP agent_model_call_duration_seconds Model call latency.",
      'agent_model_call_duration_seconds_bucket{le="0.1",provider="offline",model="offline"} 3',
      'agent_model_call_duration_seconds_bucket{le="+Inf",provider="offline",model="offline"} 3',
      'agent_model_call_duration_seconds_sum{provider="offline",model="offline"} 0.003',
      'agent_model_call_duration_seconds_count{provider="offline",model="offline"} 3',
      'agent_model_call_duration_seconds_bucket{le="0.1",provider="openai",model="gpt-4o-mini"} 0',
      'agent_model_call_duration_seconds_bucket{le="+Inf",provider="openai",model="gpt-4o-mini"} 1',
      'agent_model_call_duration_seconds_sum{provider="openai",model="gpt-4o-mini"} 2',
      'agent_model_call_duration_seconds_count{provider="openai",model="gpt-4o-mini"} 1',
    ].join("\n");
    const all = readHistograms(text, "agent_model_call_duration_seconds").get("")!;
    expect(all.count).toBe(4);
    expect(all.sum).toBeCloseTo(2.003, 6);
    expect(all.buckets).toEqual([
      [0.1, 3],
      [Number.POSITIVE_INFINITY, 4],
    ]);
    // Past the last finite bound, the estimate is that bound (as PromQL answers).
    expect(quantile(all, 0.99)).toBe(0.1);
    expect(quantile({ buckets: [], sum: 0, count: 0 }, 0.5)).toBeNaN();
  });
});
