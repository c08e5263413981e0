import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fakes/openai";
import { resolveChatModel } from "./models";
import { OFFLINE_LABEL } from "./offline-model";
import { generateReply } from "./reply";

const agent = { model: "gpt-4o-mini", temperature: 0.2, maxOutputTokens: 256 };

describe("generateReply", () => {
  let openai: FakeOpenAI;
  beforeAll(async () => {
    openai = await startFakeOpenAI({ apiKey: "sk-test-key" });
  });
  afterAll(() => openai.close());

  it("uses gpt-4o-mini through LangChain's ChatOpenAI when a key is configured", async () => {
    const resolved = resolveChatModel(agent, { OPENAI_API_KEY: "sk-test-key", OPENAI_BASE_URL: openai.baseUrl });
    expect(resolved).toMatchObject({ provider: "openai", model: "gpt-4o-mini" });
    const reply = await generateReply({
      chatModel: resolved.chatModel,
      systemPrompt: "You are terse.",
      history: [
        { role: "user", content: "first" },
        { role: "assistant", content: "ok" },
      ],
      text: "second",
    });
    expect(reply.text).toBe("(gpt-4o-mini) You asked: second");
    expect(reply.inputTokens).toBeGreaterThan(0);
    expect(reply.outputTokens).toBe(Math.floor(reply.text.length / 4));
    const sent = openai.requests.at(-1)!;
    expect(sent.authorization).toBe("Bearer sk-test-key");
    expect(sent.body.model).toBe("gpt-4o-mini");
    expect(sent.body.messages.map((m) => [m.role, m.content])).toEqual([
      ["system", "You are terse."],
      ["user", "first"],
      ["assistant", "ok"],
      ["user", "second"],
    ]);
  });

  it("surfaces a provider failure instead of answering", async () => {
    openai.failNext(5, 500);
    const resolved = resolveChatModel(agent, { OPENAI_API_KEY: "sk-test-key", OPENAI_BASE_URL: openai.baseUrl });
    await expect(generateReply({ chatModel: resolved.chatModel, systemPrompt: "x", history: [], text: "hi" })).rejects.toThrow();
    openai.failNext(0, 500);
  });

  it("falls back to the labelled offline model when no key is set", async () => {
    const resolved = resolveChatModel(agent, {});
    expect(resolved.provider).toBe("offline");
    const reply = await generateReply({ chatModel: resolved.chatModel, systemPrompt: "Be kind.", history: [], text: "hello" });
    expect(reply.text.startsWith(OFFLINE_LABEL)).toBe(true);
    expect(reply.text).toContain('"hello"');
  });
});
