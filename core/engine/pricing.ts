import type { ModelCandidate } from "../tenants/settings";

/** US dollars per million tokens, input and output. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/**
 * List prices per provider and model (USD per million tokens), as published by each provider.
 * Ollama is self-hosted (no per-token charge); the offline model is free. Keep in code, reviewed
 * like code: a price change is a commit.
 */
export const PRICE_TABLE: Record<ModelCandidate["provider"], Record<string, ModelPrice>> = {
  openai: {
    "gpt-4o-mini": { inputPerMTok: 0.15, outputPerMTok: 0.6 },
    "gpt-4o": { inputPerMTok: 2.5, outputPerMTok: 10 },
    "gpt-4.1-mini": { inputPerMTok: 0.4, outputPerMTok: 1.6 },
    "gpt-4.1-nano": { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  },
  gemini: {
    "gemini-2.0-flash": { inputPerMTok: 0.1, outputPerMTok: 0.4 },
    "gemini-2.0-flash-lite": { inputPerMTok: 0.075, outputPerMTok: 0.3 },
    "gemini-1.5-flash": { inputPerMTok: 0.075, outputPerMTok: 0.3 },
    "gemini-1.5-pro": { inputPerMTok: 1.25, outputPerMTok: 5 },
    "gemini-2.5-flash": { inputPerMTok: 0.3, outputPerMTok: 2.5 },
  },
  groq: {
    "llama-3.1-8b-instant": { inputPerMTok: 0.05, outputPerMTok: 0.08 },
    "llama-3.3-70b-versatile": { inputPerMTok: 0.59, outputPerMTok: 0.79 },
    "llama3-8b-8192": { inputPerMTok: 0.05, outputPerMTok: 0.08 },
    "llama3-70b-8192": { inputPerMTok: 0.59, outputPerMTok: 0.79 },
  },
  bedrock: {
    "meta.llama3-8b-instruct-v1:0": { inputPerMTok: 0.3, outputPerMTok: 0.6 },
    "meta.llama3-70b-instruct-v1:0": { inputPerMTok: 2.65, outputPerMTok: 3.5 },
    "meta.llama3-1-8b-instruct-v1:0": { inputPerMTok: 0.22, outputPerMTok: 0.22 },
    "meta.llama3-1-70b-instruct-v1:0": { inputPerMTok: 0.72, outputPerMTok: 0.72 },
  },
  ollama: {},
  offline: {},
};

/** Providers that charge nothing per token whatever the model. */
const FREE_PROVIDERS = new Set<ModelCandidate["provider"]>(["ollama", "offline"]);

/**
 * The price of a candidate. A model missing from the table is charged at the most expensive
 * listed model of its provider (`known: false`), so an unlisted model never looks cheap to the
 * budget and is never picked as "the cheapest".
 */
export function priceOf(candidate: ModelCandidate): ModelPrice & { known: boolean } {
  if (FREE_PROVIDERS.has(candidate.provider)) return { inputPerMTok: 0, outputPerMTok: 0, known: true };
  const table = PRICE_TABLE[candidate.provider];
  const listed = table[candidate.model];
  if (listed) return { ...listed, known: true };
  const prices = Object.values(table);
  return {
    inputPerMTok: Math.max(0, ...prices.map((p) => p.inputPerMTok)),
    outputPerMTok: Math.max(0, ...prices.map((p) => p.outputPerMTok)),
    known: false,
  };
}

/**
 * Cost of a call in nano-dollars (1e-9 USD), an integer: USD per million tokens × tokens × 1000.
 * Integers keep monthly sums exact.
 */
export function costNanoUsd(candidate: ModelCandidate, usage: { inputTokens: number; outputTokens: number }): number {
  const price = priceOf(candidate);
  return Math.round(usage.inputTokens * price.inputPerMTok * 1000 + usage.outputTokens * price.outputPerMTok * 1000);
}

/** A blended price for ranking: output tokens weigh three times input, a typical chat ratio's cost share. */
export function rankPrice(candidate: ModelCandidate): number {
  const price = priceOf(candidate);
  return price.inputPerMTok + 3 * price.outputPerMTok + (price.known ? 0 : 1e6);
}

/** Candidates from cheapest to dearest; ties keep their policy order. */
export function byPrice<T extends ModelCandidate>(candidates: readonly T[]): T[] {
  return candidates
    .map((candidate, index) => ({ candidate, index, price: rankPrice(candidate) }))
    .sort((a, b) => a.price - b.price || a.index - b.index)
    .map((entry) => entry.candidate);
}

export const NANO_USD_PER_USD = 1_000_000_000;
