import { describe, expect, it } from "vitest";
import { budgetMonth, budgetState } from "./budget";
import { byPrice, costNanoUsd, priceOf } from "./pricing";

describe("pricing", () => {
  it("charges per million tokens, in integer nano-dollars", () => {
    // gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    expect(costNanoUsd({ provider: "openai", model: "gpt-4o-mini" }, { inputTokens: 1_000_000, outputTokens: 0 })).toBe(150_000_000);
    expect(costNanoUsd({ provider: "openai", model: "gpt-4o-mini" }, { inputTokens: 1000, outputTokens: 500 })).toBe(150_000 + 300_000);
    expect(costNanoUsd({ provider: "gemini", model: "gemini-2.0-flash" }, { inputTokens: 10, outputTokens: 10 })).toBe(1000 + 4000);
  });

  it("charges nothing for self-hosted Ollama and the offline model", () => {
    expect(costNanoUsd({ provider: "ollama", model: "llama3" }, { inputTokens: 5000, outputTokens: 5000 })).toBe(0);
    expect(costNanoUsd({ provider: "offline", model: "offline-echo-1" }, { inputTokens: 5000, outputTokens: 5000 })).toBe(0);
  });

  it("prices an unlisted model as its provider's dearest, and never ranks it cheapest", () => {
    const unknown = { provider: "openai", model: "gpt-future" } as const;
    expect(priceOf(unknown)).toMatchObject({ known: false, inputPerMTok: 2.5, outputPerMTok: 10 });
    expect(byPrice([unknown, { provider: "openai", model: "gpt-4o" }])[0]!.model).toBe("gpt-4o");
  });

  it("orders candidates from cheapest, ties in policy order", () => {
    const ordered = byPrice([
      { provider: "openai", model: "gpt-4o" },
      { provider: "groq", model: "llama3-8b-8192" },
      { provider: "groq", model: "llama-3.1-8b-instant" },
      { provider: "openai", model: "gpt-4o-mini" },
    ]);
    expect(ordered.map((c) => c.model)).toEqual(["llama3-8b-8192", "llama-3.1-8b-instant", "gpt-4o-mini", "gpt-4o"]);
  });
});

describe("budgetState", () => {
  const budget = { monthlyLimitUsd: 10, softLimitRatio: 0.8 };
  const usd = (dollars: number) => Math.round(dollars * 1e9);

  it("enforces nothing with no limit", () => {
    expect(budgetState({ monthlyLimitUsd: 0, softLimitRatio: 0.8 }, usd(1e6))).toBe("normal");
  });

  it("crosses the soft limit at the ratio and the hard limit at the limit, inclusive", () => {
    expect(budgetState(budget, usd(7.999999999))).toBe("normal");
    expect(budgetState(budget, usd(8))).toBe("soft_limit");
    expect(budgetState(budget, usd(9.999999999))).toBe("soft_limit");
    expect(budgetState(budget, usd(10))).toBe("hard_limit");
    expect(budgetState(budget, usd(25))).toBe("hard_limit");
  });

  it("counts spend per UTC calendar month", () => {
    expect(budgetMonth(new Date("2026-11-30T23:59:59.999Z"))).toEqual({ start: new Date("2026-11-01T00:00:00Z"), key: "2026-11" });
    expect(budgetMonth(new Date("2027-01-01T00:00:00Z")).key).toBe("2027-01");
  });
});
