import { describe, expect, it } from "vitest";
import { summarise, unmetExpectations, type ObservedTurn } from "./test-results";

const observed: ObservedTurn = {
  reply: "We open at nine [1]. Your order 42 ships Tuesday.",
  toolCalls: [{ name: "order_status", arguments: { order: "42", verbose: true }, outcome: "stubbed" }],
  cited: ["faq.md"],
  handedOff: false,
  latencyMs: 900,
  costUsd: 0.002,
  model: "openai:gpt-4o-mini",
  language: "en",
};

describe("turn expectations", () => {
  it("pass when every expectation holds (text ignores case; named arguments only)", () => {
    expect(
      unmetExpectations(
        {
          contains: ["OPEN AT NINE"],
          notContains: ["sorry"],
          matches: "order \\d+ ships",
          toolCalled: [{ name: "order_status", arguments: { order: "42" } }],
          toolNotCalled: ["refund"],
          cites: "faq.md",
          handedOff: false,
          maxLatencyMs: 1000,
          maxCostUsd: 0.01,
          language: "en",
        },
        observed,
      ),
    ).toEqual([]);
  });

  it("say what was expected and what came for each unmet one", () => {
    expect(
      unmetExpectations(
        {
          contains: ["closed"],
          toolCalled: [{ name: "order_status", arguments: { order: "7" } }, { name: "refund" }],
          toolNotCalled: ["order_status"],
          cites: "prices.pdf",
          handedOff: true,
          maxLatencyMs: 500,
          maxCostUsd: 0.001,
          language: "es",
          judge: { rubric: "r", minScore: 4 },
        },
        observed,
      ),
    ).toEqual([
      'reply does not contain "closed"',
      'tool order_status was not called with {"order":"7"} (got {"order":"42","verbose":true})',
      "tool refund was not called",
      "tool order_status was called",
      "reply does not cite prices.pdf (cites faq.md)",
      "the conversation was not handed off",
      "took 900 ms (at most 500)",
      "cost $0.002 (at most $0.001)",
      "reply is in en, not es",
      "the judge did not grade the reply",
    ]);
    expect(unmetExpectations({ judge: { rubric: "r", minScore: 3 } }, { ...observed, judge: { error: "no model" } })).toEqual([
      "the judge could not grade the reply: no model",
    ]);
  });

  it("sum a run: pass rate by case, latency and cost over turns", () => {
    const turn = { ...observed, user: "hi", passed: true, failures: [] };
    const summary = summarise([
      { name: "a", passed: true, turns: [turn, { ...turn, latencyMs: 100 }] },
      { name: "b", passed: false, turns: [{ ...turn, passed: false }] },
    ]);
    expect(summary).toMatchObject({ passed: 1, failed: 1, passRate: 0.5, latencyMs: { total: 1900, max: 900 } });
    expect(summary.costUsd).toBeCloseTo(0.006);
  });
});
