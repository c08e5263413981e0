import { OFFLINE_TOOL_REQUEST } from "./offline-model";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { createAgent as createLangChainAgent, toolCallLimitMiddleware } from "langchain";
import { candidateKey, type ModelCandidate, type ModelPolicy } from "../tenants/settings";
import type { ModelAttemptRecord, ModelSelectionRecord, ToolCallRecord } from "../../db/schema/usage";
import type { BudgetState } from "./budget";
import { fallbackMiddleware, type Attempt } from "./fallback";
import { planMemory, SUMMARY_INSTRUCTIONS, summaryRequest, withSummary, type MemoryMessage } from "./memory";
import { costNanoUsd } from "./pricing";
import type { ProviderRegistry } from "./providers";
import { describeTurn, selectModels } from "./selection";

/** The agent version a turn runs with: everything the engine needs, nothing it does not. */
export interface EngineAgent {
  id: string;
  version: number;
  systemPrompt: string;
  temperature: number;
  maxOutputTokens: number;
  memoryWindow: number;
  modelPolicy: ModelPolicy;
}

export interface EngineTurnInput {
  agent: EngineAgent;
  channel: string;
  /** Unsummarised messages after the summary (and after any reset), oldest first. */
  history: MemoryMessage[];
  summary?: string | null;
  text: string;
  tools?: StructuredToolInterface[];
  /**
   * Who the turn is for, handed to tools in the runnable config (`configurable`), never through
   * arguments the model controls.
   */
  runContext?: { tenantId: string; conversationId: string };
  budget: Exclude<BudgetState, "hard_limit">;
  providers: ProviderRegistry;
  /** Per model attempt. */
  timeoutMs: number;
  /** At most this many tool calls in one turn (LangChain's tool call limit middleware). */
  maxToolCalls?: number;
  /** The reply's text as the model writes it (a call being spoken, a web chat being watched); aborting cancels the turn. */
  stream?: ReplyListener;
}

/** Where a reply's tokens go while the model writes it, and the signal that cancels the turn. */
export interface ReplyListener {
  onToken(token: string): void;
  signal?: AbortSignal;
}

export interface EngineTurnResult {
  /** False when every candidate failed: `text` is empty and the caller decides (retry or apologise). */
  ok: boolean;
  text: string;
  answeredBy?: ModelCandidate;
  selection: ModelSelectionRecord;
  /** Every model call in order, summary calls included: the fallback path. */
  attempts: ModelAttemptRecord[];
  inputTokens: number;
  outputTokens: number;
  costNanoUsd: number;
  latencyMs: number;
  toolCalls: ToolCallRecord[];
  /** Set when older turns were folded into the summary this turn: store it with the conversation. */
  summary?: { text: string; through: Date; throughMessageId?: string };
  /** The listener's signal stopped the turn (the caller spoke over it): `text` is what had been streamed. */
  cancelled?: true;
}

/**
 * One conversation turn: select the candidates (policy rules, budget, availability), fold
 * overflowing history into the summary, then run a LangChain agent (`createAgent`) whose
 * middleware falls back along the chain on errors, 429s, timeouts and empty answers and limits
 * tool calls. Never throws for a model failure: the result says `ok: false` with the path tried.
 * Touches no database; the caller reads the context before and records the result after, so no
 * transaction is held across model calls.
 */
export async function runEngineTurn(input: EngineTurnInput): Promise<EngineTurnResult> {
  const started = performance.now();
  const tools = input.tools ?? [];
  const plan = planMemory(input.history, input.agent.memoryWindow);
  const features = describeTurn({
    channel: input.channel,
    systemPrompt: input.agent.systemPrompt,
    summary: input.summary ?? undefined,
    history: input.history,
    text: input.text,
    needsTools: tools.length > 0,
    budget: input.budget,
  });
  const selected = selectModels(input.agent.modelPolicy, features, (candidate) => input.providers.isAvailable(candidate));
  const selection: ModelSelectionRecord = {
    reason: selected.reason,
    chain: selected.chain.map(candidateKey),
    skipped: selected.skipped,
    budget: input.budget,
  };
  const settings = { temperature: input.agent.temperature, maxOutputTokens: input.agent.maxOutputTokens, timeoutMs: input.timeoutMs };
  const chain = selected.chain.map((candidate) => ({ candidate, model: input.providers.create(candidate, settings) }));
  const attempts: Attempt[] = [];

  let summary: EngineTurnResult["summary"];
  let currentSummary = input.summary ?? null;
  if (plan.overflow.length > 0) {
    const folded = await runAgent({
      chain,
      systemPrompt: SUMMARY_INSTRUCTIONS,
      messages: [new HumanMessage(summaryRequest(currentSummary, plan.overflow))],
      tools: [],
      timeoutMs: input.timeoutMs,
      purpose: "summary",
      attempts,
    });
    if (folded.ok && folded.text.trim()) {
      currentSummary = folded.text.trim();
      const last = plan.overflow.at(-1)!;
      summary = { text: currentSummary, through: last.createdAt, ...(last.id ? { throughMessageId: last.id } : {}) };
    }
    // On failure the overflow is left out of this turn's prompt and folded in on a later turn.
  }

  const offlineOnly = chain.every((entry) => entry.candidate.provider === "offline");
  const answer = await runAgent({
    chain,
    systemPrompt: withSummary(input.agent.systemPrompt, currentSummary),
    messages: [
      ...plan.keep.map((turn) => (turn.role === "user" ? new HumanMessage(turn.content) : new AIMessage(turn.content))),
      new HumanMessage(input.text),
    ],
    // The offline model calls a tool only when the person names it (`/tool <name> {…}`, for trying tools locally).
    tools: offlineOnly && !OFFLINE_TOOL_REQUEST.test(input.text.trim()) ? [] : tools,
    ...(input.runContext ? { runContext: input.runContext } : {}),
    timeoutMs: input.timeoutMs,
    purpose: "reply",
    attempts,
    maxToolCalls: input.maxToolCalls ?? 5,
    ...(input.stream ? { stream: input.stream } : {}),
  });

  const cancelled = input.stream?.signal?.aborted === true;
  const ok = cancelled || (attempts.filter((a) => a.purpose === "reply").some((a) => a.outcome === "ok") && answer.ok);
  const succeeded = attempts.filter((a) => a.outcome === "ok" || a.outcome === "empty");
  const replyAttempts = attempts.filter((a) => a.purpose === "reply" && a.outcome === "ok");
  return {
    ok,
    text: cancelled ? answer.streamed : ok ? answer.text : "",
    ...(ok && replyAttempts.length ? { answeredBy: replyAttempts.at(-1)!.candidate } : {}),
    selection,
    attempts: attempts.map(({ candidate: _candidate, inputTokens, outputTokens, ...record }) =>
      record.outcome === "ok" ? { ...record, inputTokens, outputTokens } : record,
    ),
    inputTokens: succeeded.reduce((sum, a) => sum + a.inputTokens, 0),
    outputTokens: succeeded.reduce((sum, a) => sum + a.outputTokens, 0),
    costNanoUsd: succeeded.reduce((sum, a) => sum + costNanoUsd(a.candidate, a), 0),
    latencyMs: Math.round(performance.now() - started),
    toolCalls: answer.toolCalls,
    ...(summary ? { summary } : {}),
    ...(cancelled ? { cancelled } : {}),
  };
}

async function runAgent(options: {
  chain: Array<{ candidate: ModelCandidate; model: BaseChatModel }>;
  systemPrompt: string;
  messages: BaseMessage[];
  tools: StructuredToolInterface[];
  timeoutMs: number;
  purpose: ModelAttemptRecord["purpose"];
  attempts: Attempt[];
  maxToolCalls?: number;
  runContext?: { tenantId: string; conversationId: string };
  stream?: ReplyListener;
}): Promise<{ ok: boolean; text: string; streamed: string; toolCalls: ToolCallRecord[] }> {
  const agent = createLangChainAgent({
    model: options.chain[0]!.model,
    tools: options.tools,
    systemPrompt: options.systemPrompt,
    middleware: [
      ...fallbackMiddleware({ chain: options.chain, timeoutMs: options.timeoutMs, purpose: options.purpose, attempts: options.attempts }),
      ...(options.tools.length ? [toolCallLimitMiddleware({ runLimit: options.maxToolCalls ?? 5, exitBehavior: "continue" })] : []),
    ],
  });
  const tokens = options.stream ? new ReplyTokens(options.stream) : undefined;
  try {
    const result = await agent.invoke(
      { messages: options.messages },
      {
        recursionLimit: 4 * (options.maxToolCalls ?? 5) + 4,
        ...(options.runContext ? { configurable: { ...options.runContext } } : {}),
        ...(tokens ? { callbacks: [tokens], ...(options.stream?.signal ? { signal: options.stream.signal } : {}) } : {}),
      },
    );
    const produced = result.messages.slice(options.messages.length);
    const toolCalls = produced
      .filter((message): message is ToolMessage => ToolMessage.isInstance(message))
      // HTTP tools return their call record as the message's artifact (core/tools).
      .map((message) => ({ name: message.name ?? "unknown", ok: message.status !== "error", ...toolCallArtifact(message.artifact) }));
    const last = result.messages.at(-1);
    const text = last && AIMessage.isInstance(last) ? last.text : "";
    return { ok: text.trim().length > 0, text, streamed: tokens?.streamed ?? "", toolCalls };
  } catch {
    // Every candidate failed (the attempts say how), or the listener cancelled the turn; the caller
    // decides between retry and apology.
    return { ok: false, text: "", streamed: tokens?.streamed ?? "", toolCalls: [] };
  }
}

/**
 * Hands the reply's tokens to its listener as the models write them. Its preference for streaming
 * makes LangChain's chat models stream while the agent still receives whole messages. Only the
 * latest model call is heard: tokens of a call that failed or was abandoned for a fallback after it
 * had begun stop the stream for the rest of the turn (the whole reply, sent when recorded, then
 * says what the fallback wrote), so a listener never hears two answers interleaved.
 */
class ReplyTokens extends BaseCallbackHandler {
  name = "ReplyTokens";
  readonly lc_prefer_streaming = true;
  override awaitHandlers = true;
  streamed = "";
  #current: { runId: string; spoke: boolean; ended: boolean } | undefined;
  #broken = false;

  constructor(private readonly listener: ReplyListener) {
    super();
  }

  override handleChatModelStart(_model: unknown, _messages: unknown, runId: string): void {
    if (this.#current?.spoke && !this.#current.ended) this.#broken = true;
    this.#current = { runId, spoke: false, ended: false };
  }

  override handleLLMNewToken(token: string, _index: unknown, runId: string): void {
    if (this.#broken || !token || this.#current?.runId !== runId) return;
    this.#current.spoke = true;
    this.streamed += token;
    this.listener.onToken(token);
  }

  override handleLLMEnd(_output: unknown, runId: string): void {
    if (this.#current?.runId === runId) this.#current.ended = true;
  }

  override handleLLMError(_error: unknown, runId: string): void {
    if (this.#current?.runId === runId && this.#current.spoke) this.#broken = true;
  }
}

function toolCallArtifact(artifact: unknown): Partial<ToolCallRecord> {
  if (!artifact || typeof artifact !== "object" || !("toolCall" in artifact)) return {};
  return (artifact as { toolCall: Partial<ToolCallRecord> }).toolCall;
}
