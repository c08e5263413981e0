import { tool } from "langchain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startFakeGemini, type FakeGemini } from "../../test/fakes/gemini";
import { startFakeOllama, type FakeOllama } from "../../test/fakes/ollama";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fakes/openai";
import type { ModelCandidate } from "../tenants/settings";
import { runEngineTurn, type EngineTurnInput } from "./engine";
import type { MemoryMessage } from "./memory";
import { OFFLINE_LABEL } from "./offline-model";
import { createProviderRegistry, readModelEnvironment } from "./providers";

const mini = { provider: "openai", model: "gpt-4o-mini" } as const;
const flash = { provider: "gemini", model: "gemini-2.0-flash" } as const;
const llamaOllama = { provider: "ollama", model: "llama3" } as const;
const llamaGroq = { provider: "groq", model: "llama-3.1-8b-instant" } as const;

/** The engine against loopback fakes of each provider's wire protocol, through LangChain's own provider classes. */
describe("runEngineTurn", () => {
  let openai: FakeOpenAI;
  let gemini: FakeGemini;
  let ollama: FakeOllama;
  let input: (candidates: ModelCandidate[], extra?: Partial<EngineTurnInput>) => EngineTurnInput;

  beforeAll(async () => {
    [openai, gemini, ollama] = await Promise.all([
      startFakeOpenAI({ apiKey: "sk-engine" }),
      startFakeGemini({ apiKey: "gm-engine" }),
      startFakeOllama(),
    ]);
    const env = readModelEnvironment({
      OPENAI_API_KEY: "sk-engine",
      OPENAI_BASE_URL: openai.baseUrl,
      GEMINI_API_KEY: "gm-engine",
      GEMINI_BASE_URL: gemini.baseUrl,
      OLLAMA_BASE_URL: ollama.baseUrl,
      // Groq speaks the OpenAI protocol under /openai/v1: the same fake serves it.
      GROQ_API_KEY: "sk-engine",
      GROQ_BASE_URL: openai.origin,
    });
    const providers = createProviderRegistry(env);
    input = (candidates, extra = {}) => ({
      agent: {
        id: "agent",
        version: 3,
        systemPrompt: "You are terse.",
        temperature: 0.2,
        maxOutputTokens: 128,
        memoryWindow: 6,
        modelPolicy: { candidates, rules: [] },
      },
      channel: "telegram",
      history: [],
      text: "What are your opening hours?",
      budget: "normal",
      providers,
      // Fault injection for "hangs": well above a loopback answer, well below the test timeout.
      timeoutMs: 400,
      ...extra,
    });
  });
  afterAll(async () => {
    await Promise.all([openai?.close(), gemini?.close(), ollama?.close()]);
  });

  it.each([
    [mini, "(gpt-4o-mini) You asked: What are your opening hours?"],
    [flash, "(gemini-2.0-flash) You asked: What are your opening hours?"],
    [llamaOllama, "(llama3) You asked: What are your opening hours?"],
    [llamaGroq, "(llama-3.1-8b-instant) You asked: What are your opening hours?"],
  ])("answers with %o", async (candidate, expected) => {
    const result = await runEngineTurn(input([candidate]));
    expect(result).toMatchObject({ ok: true, text: expected, answeredBy: candidate });
    expect(result.inputTokens).toBeGreaterThan(0);
    expect(result.outputTokens).toBeGreaterThan(0);
    expect(result.attempts).toEqual([
      expect.objectContaining({ provider: candidate.provider, model: candidate.model, outcome: "ok", purpose: "reply" }),
    ]);
    expect(result.selection).toEqual({
      reason: "policy_order",
      chain: [`${candidate.provider}:${candidate.model}`],
      skipped: [],
      budget: "normal",
    });
    if (candidate.provider === "ollama") expect(result.costNanoUsd).toBe(0);
    else expect(result.costNanoUsd).toBeGreaterThan(0);
  });

  it("sends the system prompt, history and message the way each provider expects", async () => {
    const history: MemoryMessage[] = [
      { role: "user", content: "hi", createdAt: new Date(1) },
      { role: "assistant", content: "hello", createdAt: new Date(2) },
    ];
    await runEngineTurn(input([flash], { history }));
    const sent = gemini.requests.at(-1)!;
    expect(sent.apiKey).toBe("gm-engine");
    expect(sent.body.systemInstruction?.parts[0]?.text).toBe("You are terse.");
    expect(sent.body.contents.map((c) => [c.role, c.parts[0]?.text])).toEqual([
      ["user", "hi"],
      ["model", "hello"],
      ["user", "What are your opening hours?"],
    ]);
    expect(sent.body.generationConfig).toMatchObject({ temperature: 0.2, maxOutputTokens: 128 });
    await runEngineTurn(input([llamaOllama], { history }));
    expect(ollama.requests.at(-1)!.body.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
  });

  it.each([
    [429, "rate_limited"],
    [500, "error"],
    ["hang", "timeout"],
    ["empty", "empty"],
  ] as const)("falls back within the turn when the primary answers %s", async (fault, outcome) => {
    openai.failNext(1, fault);
    const result = await runEngineTurn(input([mini, flash]));
    expect(result).toMatchObject({ ok: true, text: "(gemini-2.0-flash) You asked: What are your opening hours?", answeredBy: flash });
    expect(result.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["openai", outcome],
      ["gemini", "ok"],
    ]);
    if (typeof fault === "number") expect(result.attempts[0]!.status).toBe(fault);
  });

  it("reports failure with the whole path when every candidate fails, and no provider message", async () => {
    openai.failNext(1, 500);
    gemini.failNext(1, 429);
    ollama.failNext(1, "hang");
    const result = await runEngineTurn(input([mini, flash, llamaOllama]));
    expect(result.ok).toBe(false);
    expect(result.text).toBe("");
    expect(result.attempts.map((a) => `${a.provider}=${a.outcome}`)).toEqual(["openai=error", "gemini=rate_limited", "ollama=timeout"]);
    expect(JSON.stringify(result)).not.toMatch(/sk-engine|gm-engine|Rate limit|server had an error/);
  });

  it("runs a tool-calling round trip with a trivial tool", async () => {
    const clock = tool(async ({ zone }) => `It is 09:30 in ${zone}`, {
      name: "current_time",
      description: "The current time",
      schema: z.object({ zone: z.string() }),
    });
    openai.queueToolCall({ name: "current_time", arguments: { zone: "Europe/Paris" } });
    const result = await runEngineTurn(input([mini], { tools: [clock] }));
    expect(result.text).toBe("(gpt-4o-mini) Tool current_time said: It is 09:30 in Europe/Paris");
    expect(result.toolCalls).toEqual([{ name: "current_time", ok: true }]);
    expect(result.attempts.map((a) => a.outcome)).toEqual(["ok", "ok"]);
    const [first, second] = openai.requests.slice(-2);
    expect(first!.body.tools?.[0]?.function.name).toBe("current_time");
    expect(second!.body.messages.at(-1)).toMatchObject({ role: "tool", content: "It is 09:30 in Europe/Paris" });
  });

  it("folds overflowing history into a summary at the memory window and answers with it", async () => {
    const history: MemoryMessage[] = Array.from({ length: 7 }, (_, i) => ({
      id: `m${i}`,
      role: i % 2 === 0 ? "user" : "assistant",
      content: `message ${i}`,
      createdAt: new Date(1000 + i),
    }));
    const fits = await runEngineTurn(input([mini], { history: history.slice(0, 6) }));
    expect(fits.summary).toBeUndefined();
    expect(fits.attempts.map((a) => a.purpose)).toEqual(["reply"]);

    const result = await runEngineTurn(input([mini], { history, summary: "Ada ordered a lamp." }));
    expect(result.attempts.map((a) => a.purpose)).toEqual(["summary", "reply"]);
    expect(result.summary?.throughMessageId).toBe("m3");
    const [summaryCall, replyCall] = openai.requests.slice(-2);
    expect(JSON.stringify(summaryCall!.body.messages)).toContain("Ada ordered a lamp.");
    expect(JSON.stringify(summaryCall!.body.messages)).toContain("User: message 0");
    const prompt = replyCall!.body.messages;
    expect(JSON.stringify(prompt[0])).toContain("Summary of the earlier conversation");
    expect(prompt.slice(1).map((m) => m.content)).toEqual(["message 4", "message 5", "message 6", "What are your opening hours?"]);
  });

  it("uses the cheapest candidate past the soft limit", async () => {
    const result = await runEngineTurn(input([mini, flash], { budget: "soft_limit" }));
    expect(result.answeredBy).toEqual(flash);
    expect(result.selection.reason).toMatch(/budget_soft_limit/);
  });

  it("answers with the labelled offline model when no candidate is configured", async () => {
    const result = await runEngineTurn(input([{ provider: "bedrock", model: "meta.llama3-8b-instruct-v1:0" }]));
    expect(result.ok).toBe(true);
    expect(result.text.startsWith(OFFLINE_LABEL)).toBe(true);
    expect(result.answeredBy).toEqual({ provider: "offline", model: "offline-echo-1" });
    expect(result.selection.skipped).toEqual(["bedrock:meta.llama3-8b-instruct-v1:0: not configured"]);
  });

  it("lets the offline model call a tool the person names (/tool), and only then", async () => {
    const calls: unknown[] = [];
    const lookup = tool(
      async (args: { email: string }) => {
        calls.push(args);
        return `contact 7: ${args.email}`;
      },
      { name: "find_contact", description: "Finds a contact.", schema: z.object({ email: z.string() }) },
    );
    const offline = [{ provider: "bedrock" as const, model: "meta.llama3-8b-instruct-v1:0" }];
    const named = await runEngineTurn(input(offline, { tools: [lookup], text: '/tool find_contact {"email":"ada@example.com"}' }));
    expect(calls).toEqual([{ email: "ada@example.com" }]);
    expect(named.text).toBe(`${OFFLINE_LABEL} The tool answered: contact 7: ada@example.com`);
    expect(named.toolCalls).toEqual([expect.objectContaining({ name: "find_contact" })]);
    const unknown = await runEngineTurn(input(offline, { tools: [lookup], text: "/tool drop_tables {}" }));
    expect(unknown.text).toContain('There is no tool "drop_tables" here. Tools this agent has: find_contact.');
    const plain = await runEngineTurn(input(offline, { tools: [lookup], text: "find ada@example.com please" }));
    expect(plain.text).toContain("You said:");
    expect(calls).toHaveLength(1);
  });

  describe("streamed to a listener", () => {
    const listen = (signal?: AbortSignal) => {
      const tokens: string[] = [];
      return { tokens, stream: { onToken: (token: string) => void tokens.push(token), ...(signal ? { signal } : {}) } };
    };

    it("hands OpenAI's streamed tokens over as they come, and records the usage of the stream", async () => {
      const { tokens, stream } = listen();
      const result = await runEngineTurn(input([mini], { stream }));
      expect(openai.requests.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
      expect(tokens.length).toBeGreaterThan(3);
      expect(tokens.join("")).toBe(result.text);
      expect(result.text).toBe("(gpt-4o-mini) You asked: What are your opening hours?");
      expect(result.outputTokens).toBeGreaterThan(0);
      expect(result.cancelled).toBeUndefined();
    });

    it("streams the offline model a word at a time, tool calls included", async () => {
      const offline = [{ provider: "bedrock" as const, model: "meta.llama3-8b-instruct-v1:0" }];
      const { tokens, stream } = listen();
      const result = await runEngineTurn(input(offline, { stream }));
      expect(tokens.length).toBe(result.text.split(" ").length);
      expect(tokens.join("")).toBe(result.text);
      const lookup = tool(async () => "contact 7", { name: "find_contact", description: "Finds a contact.", schema: z.object({}) });
      const called = listen();
      const named = await runEngineTurn(input(offline, { tools: [lookup], text: "/tool find_contact {}", stream: called.stream }));
      expect(named.toolCalls).toEqual([expect.objectContaining({ name: "find_contact" })]);
      expect(called.tokens.join("")).toBe(named.text);
    });

    it("stops streaming a model that failed after it began, and the reply is the fallback's", async () => {
      openai.streamChunkDelay(30);
      const { tokens, stream } = listen();
      try {
        // The first model is abandoned mid-stream by the attempt's timeout; Gemini answers.
        const result = await runEngineTurn(input([mini, flash], { stream, timeoutMs: 100 }));
        expect(result.attempts.map((a) => `${a.provider}=${a.outcome}`)).toEqual(["openai=timeout", "gemini=ok"]);
        expect(result.text).toContain("gemini");
        expect(tokens.length).toBeGreaterThan(0);
        expect(tokens.join("")).not.toContain("gemini");
        expect(result.text.startsWith(tokens.join(""))).toBe(false);
      } finally {
        openai.streamChunkDelay(0);
      }
    });

    it("cancels the model call when the listener aborts mid-stream, keeping what was streamed", async () => {
      openai.streamChunkDelay(25);
      const abandoned = openai.abandonedStreams;
      const controller = new AbortController();
      const tokens: string[] = [];
      const stream = {
        signal: controller.signal,
        onToken(token: string) {
          tokens.push(token);
          if (tokens.length === 3) controller.abort();
        },
      };
      try {
        const result = await runEngineTurn(input([mini, flash], { stream, timeoutMs: 5000 }));
        expect(result.cancelled).toBe(true);
        expect(result.ok).toBe(true);
        expect(result.text).toBe(tokens.join(""));
        expect(tokens).toHaveLength(3);
        // No fallback is asked once the listener has gone.
        expect(result.attempts.filter((a) => a.outcome === "ok")).toEqual([]);
        await expect.poll(() => openai.abandonedStreams).toBe(abandoned + 1);
      } finally {
        openai.streamChunkDelay(0);
      }
    });
  });
});
