import { describe, expect, it } from "vitest";
import { modelPolicy, type ModelCandidate } from "../tenants/settings";
import { describeTurn, selectModels, type TurnFeatures } from "./selection";

const mini = { provider: "openai", model: "gpt-4o-mini" } as const;
const gpt4o = { provider: "openai", model: "gpt-4o" } as const;
const flash = { provider: "gemini", model: "gemini-2.0-flash" } as const;
const groq = { provider: "groq", model: "llama-3.1-8b-instant" } as const;
const ollama = { provider: "ollama", model: "llama3" } as const;

const policy = modelPolicy.parse({
  candidates: [mini, gpt4o, flash, groq],
  rules: [
    { name: "voice-fast", when: { channels: ["voice"] }, use: [groq] },
    { name: "long", when: { minTokens: 2000 }, use: [flash] },
    { name: "hard", when: { complexity: "complex" }, use: [gpt4o] },
    { name: "tools", when: { needsTools: true }, use: [gpt4o, mini] },
  ],
});

const base: TurnFeatures = { channel: "telegram", messages: 3, tokens: 100, complexity: "simple", needsTools: false, budget: "normal" };
const all = () => true;
const keys = (chain: ModelCandidate[]) => chain.map((c) => `${c.provider}:${c.model}`);

describe("selectModels", () => {
  it("keeps policy order when no rule matches", () => {
    const selection = selectModels(policy, base, all);
    expect(keys(selection.chain)).toEqual(["openai:gpt-4o-mini", "openai:gpt-4o", "gemini:gemini-2.0-flash", "groq:llama-3.1-8b-instant"]);
    expect(selection.reason).toBe("policy_order");
  });

  it("picks by channel", () => {
    const selection = selectModels(policy, { ...base, channel: "voice" }, all);
    expect(selection.chain[0]).toEqual(groq);
    expect(selection.chain).toHaveLength(4);
    expect(selection.reason).toBe("rule:voice-fast");
  });

  it("picks by the size of the conversation so far", () => {
    expect(selectModels(policy, { ...base, tokens: 2500 }, all)).toMatchObject({ chain: [flash, mini, gpt4o, groq], reason: "rule:long" });
    expect(selectModels(policy, { ...base, tokens: 1999 }, all).reason).toBe("policy_order");
  });

  it("picks by complexity and by whether tools are needed, first matching rule winning", () => {
    expect(selectModels(policy, { ...base, complexity: "complex" }, all).reason).toBe("rule:hard");
    expect(selectModels(policy, { ...base, needsTools: true }, all)).toMatchObject({
      chain: [gpt4o, mini, flash, groq],
      reason: "rule:tools",
    });
    expect(selectModels(policy, { ...base, needsTools: true, complexity: "complex" }, all).reason).toBe("rule:hard");
  });

  it("switches to the cheapest candidate past the budget's soft limit, whatever the rules say", () => {
    const selection = selectModels(policy, { ...base, channel: "voice", complexity: "complex", budget: "soft_limit" }, all);
    expect(keys(selection.chain)).toEqual(["groq:llama-3.1-8b-instant", "gemini:gemini-2.0-flash", "openai:gpt-4o-mini", "openai:gpt-4o"]);
    expect(selection.reason).toMatch(/^budget_soft_limit/);
  });

  it("treats self-hosted Ollama as the cheapest", () => {
    const withOllama = modelPolicy.parse({ candidates: [mini, ollama] });
    expect(selectModels(withOllama, { ...base, budget: "soft_limit" }, all).chain[0]).toEqual(ollama);
  });

  it("skips candidates without credentials and says why", () => {
    const selection = selectModels(policy, base, (c) => c.provider !== "openai");
    expect(selection.chain).toEqual([flash, groq]);
    expect(selection.skipped).toEqual(["openai:gpt-4o-mini: not configured", "openai:gpt-4o: not configured"]);
  });

  it("falls back to the labelled offline model when nothing is configured", () => {
    const selection = selectModels(policy, base, () => false);
    expect(selection.chain).toEqual([{ provider: "offline", model: "offline-echo-1" }]);
    expect(selection.reason).toContain("offline model");
  });

  it("leaves out a candidate that cannot call tools when tools are needed", () => {
    const offlineFirst = modelPolicy.parse({ candidates: [{ provider: "offline", model: "offline-echo-1" }, mini] });
    const selection = selectModels(offlineFirst, { ...base, needsTools: true }, all);
    expect(selection.chain).toEqual([mini]);
    expect(selection.skipped).toEqual(["offline:offline-echo-1: cannot call tools"]);
  });

  it("rejects a rule that names a candidate outside the policy", () => {
    expect(modelPolicy.safeParse({ candidates: [mini], rules: [{ when: {}, use: [flash] }] }).success).toBe(false);
  });
});

describe("describeTurn", () => {
  const turn = (text: string, history: string[] = []) =>
    describeTurn({
      channel: "telegram",
      systemPrompt: "Be kind.",
      history: history.map((content) => ({ content })),
      text,
      needsTools: false,
      budget: "normal",
    });

  it("counts messages and estimated tokens", () => {
    const features = turn("hello", ["a".repeat(400), "b".repeat(400)]);
    expect(features.messages).toBe(3);
    expect(features.tokens).toBe(2 + 100 + 100 + 2);
    expect(features.complexity).toBe("simple");
  });

  it("calls long messages, code and several questions complex", () => {
    expect(turn("x".repeat(600)).complexity).toBe("complex");
    expect(turn("why does ```a()``` fail").complexity).toBe("complex");
    expect(turn("what? when? where?").complexity).toBe("complex");
    expect(turn("what time is it?").complexity).toBe("simple");
  });
});
