import { candidateKey, type ModelCandidate, type ModelPolicy, type SelectionRule } from "../tenants/settings";
import type { BudgetState } from "./budget";
import { estimateTokens } from "./offline-model";
import { byPrice } from "./pricing";

/** What the selection rules look at for one turn. */
export interface TurnFeatures {
  channel: string;
  /** Messages the model will see: history in the window plus the new one. */
  messages: number;
  /** Estimated prompt tokens: system prompt, summary, history and the new message. */
  tokens: number;
  complexity: "simple" | "complex";
  needsTools: boolean;
  budget: BudgetState;
}

export interface Selection {
  /** Candidates to try in order: the first answers unless it fails, then the next... */
  chain: ModelCandidate[];
  /** Why this order, for the turn record: `budget_soft_limit`, `rule:<name>`, `policy_order`... */
  reason: string;
  /** Candidates left out and why. */
  skipped: string[];
}

export const OFFLINE_CANDIDATE: ModelCandidate = { provider: "offline", model: "offline-echo-1" };

/** Providers whose LangChain models can bind tools (the built-in offline model cannot). */
const TOOL_CAPABLE = new Set<ModelCandidate["provider"]>(["openai", "gemini", "groq", "ollama", "bedrock"]);

/**
 * Measures the turn for the rules. "Complex" is a cheap heuristic, not a classifier: a long new
 * message (150+ tokens), a code block, several questions at once, or a long conversation (3,000+
 * tokens) so far.
 */
export function describeTurn(input: {
  channel: string;
  systemPrompt: string;
  summary?: string | undefined;
  history: Array<{ content: string }>;
  text: string;
  needsTools: boolean;
  budget: BudgetState;
}): TurnFeatures {
  const tokens =
    estimateTokens(input.systemPrompt) +
    estimateTokens(input.summary ?? "") +
    input.history.reduce((sum, turn) => sum + estimateTokens(turn.content), 0) +
    estimateTokens(input.text);
  const questions = (input.text.match(/\?/g) ?? []).length;
  const complex = estimateTokens(input.text) >= 150 || input.text.includes("```") || questions >= 3 || tokens >= 3000;
  return {
    channel: input.channel,
    messages: input.history.length + 1,
    tokens,
    complexity: complex ? "complex" : "simple",
    needsTools: input.needsTools,
    budget: input.budget,
  };
}

export function ruleMatches(rule: SelectionRule, features: TurnFeatures): boolean {
  const when = rule.when;
  if (when.channels && !when.channels.includes(features.channel as never)) return false;
  if (when.minMessages !== undefined && features.messages < when.minMessages) return false;
  if (when.maxMessages !== undefined && features.messages > when.maxMessages) return false;
  if (when.minTokens !== undefined && features.tokens < when.minTokens) return false;
  if (when.maxTokens !== undefined && features.tokens > when.maxTokens) return false;
  if (when.complexity !== undefined && features.complexity !== when.complexity) return false;
  if (when.needsTools !== undefined && features.needsTools !== when.needsTools) return false;
  return true;
}

/**
 * Orders a policy's candidates for one turn:
 * 1. past the budget's soft limit: cheapest first (then by price), rules ignored;
 * 2. otherwise the first matching rule's candidates first, then the rest in policy order;
 * 3. otherwise policy order.
 * Then drops candidates that cannot serve the turn: no tool support when tools are needed, or not
 * available (no credentials or endpoint configured). With nothing left, the built-in offline model
 * answers, and the reason says so.
 */
export function selectModels(policy: ModelPolicy, features: TurnFeatures, isAvailable: (candidate: ModelCandidate) => boolean): Selection {
  let ordered: ModelCandidate[];
  let reason: string;
  if (features.budget === "soft_limit") {
    ordered = byPrice(policy.candidates);
    reason = "budget_soft_limit: cheapest candidate first";
  } else {
    const index = policy.rules.findIndex((rule) => ruleMatches(rule, features));
    if (index >= 0) {
      const rule = policy.rules[index]!;
      const preferred = rule.use.map(candidateKey);
      ordered = [...rule.use, ...policy.candidates.filter((candidate) => !preferred.includes(candidateKey(candidate)))];
      reason = `rule:${rule.name ?? index}`;
    } else {
      ordered = [...policy.candidates];
      reason = "policy_order";
    }
  }

  const skipped: string[] = [];
  const seen = new Set<string>();
  const chain = ordered.filter((candidate) => {
    const key = candidateKey(candidate);
    if (seen.has(key)) return false;
    seen.add(key);
    if (features.needsTools && !TOOL_CAPABLE.has(candidate.provider)) {
      skipped.push(`${key}: cannot call tools`);
      return false;
    }
    if (!isAvailable(candidate)) {
      skipped.push(`${key}: not configured`);
      return false;
    }
    return true;
  });
  if (chain.length === 0) return { chain: [OFFLINE_CANDIDATE], reason: `${reason}; no candidate configured: offline model`, skipped };
  return { chain, reason, skipped };
}
