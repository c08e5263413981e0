/**
 * `npm run bench:engine [-- --turns 2000 --warmup 200 --history 8 --max-seconds 20]`
 *
 * The engine's own cost per turn, with the model taken out: a zero-latency LangChain chat model
 * (answers at once, reports token usage) behind the engine (`runEngineTurn`: selection, memory
 * planning, `createAgent` with the fallback and tool-limit middleware, usage and cost), against
 * the bare `model.invoke(messages)` with the same messages, in the same run, one turn at a time.
 * Prints turns per second, p50 and p99 per turn for both, the engine's overhead per turn (engine
 * minus bare, at p50 and p99), and the throughput ratio. No network, no database; stops after
 * `--turns` or `--max-seconds` per phase, whichever comes first.
 */
import { parseArgs } from "node:util";
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { runEngineTurn, type EngineTurnInput } from "../../core/engine/engine";
import type { MemoryMessage } from "../../core/engine/memory";
import type { ProviderRegistry } from "../../core/engine/providers";

/** A chat model that answers instantly: what is left of a turn's time is ours. */
class ZeroLatencyChatModel extends BaseChatModel {
  _llmType() {
    return "zero-latency";
  }
  override bindTools(): this {
    return this;
  }
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const text = `ok ${messages.length}`;
    return {
      generations: [
        { text, message: new AIMessage({ content: text, usage_metadata: { input_tokens: 10, output_tokens: 2, total_tokens: 12 } }) },
      ],
    };
  }
}

const { values } = parseArgs({
  options: {
    turns: { type: "string", default: "2000" },
    warmup: { type: "string", default: "200" },
    history: { type: "string", default: "8" },
    "max-seconds": { type: "string", default: "20" },
  },
});
const turns = Number(values.turns);
const warmup = Number(values.warmup);
const maxMs = Number(values["max-seconds"]) * 1000;
const historyLength = Number(values.history);

const model = new ZeroLatencyChatModel({});
const providers: ProviderRegistry = { isAvailable: () => true, create: () => model };
const history: MemoryMessage[] = Array.from({ length: historyLength }, (_, i) => ({
  role: i % 2 === 0 ? "user" : "assistant",
  content: `earlier message ${i} with a few words in it`,
  createdAt: new Date(1_000 + i),
}));
const systemPrompt = "You are a friendly, concise support assistant for a small online shop.";
const input: EngineTurnInput = {
  agent: {
    id: "bench",
    version: 1,
    systemPrompt,
    temperature: 0.3,
    maxOutputTokens: 256,
    // Larger than the history: no summarisation, one model call per turn, like the bare call.
    memoryWindow: Math.max(12, historyLength + 1),
    modelPolicy: {
      candidates: [
        { provider: "openai", model: "gpt-4o-mini" },
        { provider: "gemini", model: "gemini-2.0-flash" },
      ],
      rules: [],
    },
  },
  channel: "telegram",
  history,
  text: "What are your opening hours?",
  budget: "normal",
  providers,
  timeoutMs: 10_000,
};
const bareMessages: BaseMessage[] = [
  new SystemMessage(systemPrompt),
  ...history.map((m) => (m.role === "user" ? new HumanMessage(m.content) : new AIMessage(m.content))),
  new HumanMessage(input.text),
];

async function measure(name: string, once: () => Promise<unknown>) {
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < turns && performance.now() - started < maxMs) {
    const t0 = performance.now();
    await once();
    samples.push(performance.now() - t0);
  }
  const elapsed = performance.now() - started;
  samples.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!;
  return { name, count: samples.length, perSecond: (samples.length / elapsed) * 1000, p50: pct(50), p99: pct(99) };
}

const bare = await measure("bare model.invoke", () => model.invoke(bareMessages));
const engine = await measure("engine turn", async () => {
  const result = await runEngineTurn(input);
  if (!result.ok) throw new Error("the engine failed with a zero-latency model");
});

const row = (r: typeof bare) =>
  `${r.name.padEnd(20)} ${String(r.count).padStart(7)} ${r.perSecond.toFixed(0).padStart(10)} ${r.p50.toFixed(3).padStart(9)} ${r.p99.toFixed(3).padStart(9)}`;
console.log(`history ${historyLength} messages, ${warmup} warm-up turns, one turn at a time\n`);
console.log(`${"".padEnd(20)} ${"turns".padStart(7)} ${"turns/s".padStart(10)} ${"p50 ms".padStart(9)} ${"p99 ms".padStart(9)}`);
console.log(row(bare));
console.log(row(engine));
console.log(`\nengine overhead per turn: p50 ${(engine.p50 - bare.p50).toFixed(3)} ms, p99 ${(engine.p99 - bare.p99).toFixed(3)} ms`);
console.log(`throughput ratio (engine / bare): ${(engine.perSecond / bare.perSecond).toFixed(3)}`);
