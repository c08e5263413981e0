import { OFFLINE_TOOL_REQUEST } from "./offline-model";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
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
  });

  const ok = attempts.filter((a) => a.purpose === "reply").some((a) => a.outcome === "ok") && answer.ok;
  const succeeded = attempts.filter((a) => a.outcome === "ok" || a.outcome === "empty");
  const replyAttempts = attempts.filter((a) => a.purpose === "reply" && a.outcome === "ok");
  return {
    ok,
    text: ok ? answer.text : "",
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
}): Promise<{ ok: boolean; text: string; toolCalls: ToolCallRecord[] }> {
  const agent = createLangChainAgent({
    model: options.chain[0]!.model,
    tools: options.tools,
    systemPrompt: options.systemPrompt,
    middleware: [
      ...fallbackMiddleware({ chain: options.chain, timeoutMs: options.timeoutMs, purpose: options.purpose, attempts: options.attempts }),
      ...(options.tools.length ? [toolCallLimitMiddleware({ runLimit: options.maxToolCalls ?? 5, exitBehavior: "continue" })] : []),
    ],
  });
  try {
    const result = await agent.invoke(
      { messages: options.messages },
      { recursionLimit: 4 * (options.maxToolCalls ?? 5) + 4, ...(options.runContext ? { configurable: { ...options.runContext } } : {}) },
    );
    const produced = result.messages.slice(options.messages.length);
    const toolCalls = produced
      .filter((message): message is ToolMessage => ToolMessage.isInstance(message))
      // HTTP tools return their call record as the message's artifact (core/tools).
      .map((message) => ({ name: message.name ?? "unknown", ok: message.status !== "error", ...toolCallArtifact(message.artifact) }));
    const last = result.messages.at(-1);
    const text = last && AIMessage.isInstance(last) ? last.text : "";
    return { ok: text.trim().length > 0, text, toolCalls };
  } catch {
    // Every candidate failed (the attempts say how); the caller decides between retry and apology.
    return { ok: false, text: "", toolCalls: [] };
  }
}

function toolCallArtifact(artifact: unknown): Partial<ToolCallRecord> {
  if (!artifact || typeof artifact !== "object" || !("toolCall" in artifact)) return {};
  return (artifact as { toolCall: Partial<ToolCallRecord> }).toolCall;
}
