import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { ChatBedrockConverse } from "@langchain/aws";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { ChatGoogleGenerativeAI } from "@langchain/google-genai";
import { ChatGroq } from "@langchain/groq";
import { ChatOllama } from "@langchain/ollama";
import { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";
import type { ModelCandidate } from "../tenants/settings";
import type { ProviderCredentials } from "./credentials";
import { OfflineChatModel } from "./offline-model";
import { issueDetails } from "../errors";

const optional = z
  .string()
  .optional()
  .transform((value) => (value === "" ? undefined : value));

/**
 * The platform's model configuration from the environment: keys used when a tenant has none of
 * its own, and every endpoint overridable (loopback fakes in tests, gateways or proxies in
 * production). Validated once at the pool's entry.
 */
export const modelEnvironmentSchema = z.object({
  OPENAI_API_KEY: optional,
  OPENAI_BASE_URL: optional.pipe(z.url().optional()),
  GEMINI_API_KEY: optional,
  GEMINI_BASE_URL: optional.pipe(z.url().optional()),
  GROQ_API_KEY: optional,
  GROQ_BASE_URL: optional.pipe(z.url().optional()),
  /** Llama 3 on a self-hosted Ollama; unset means no Ollama candidate is available. */
  OLLAMA_BASE_URL: optional.pipe(z.url().optional()),
  BEDROCK_REGION: optional,
  BEDROCK_ENDPOINT: optional.pipe(z.url().optional()),
  BEDROCK_ACCESS_KEY_ID: optional,
  BEDROCK_SECRET_ACCESS_KEY: optional,
  /** Per-attempt limit: past it the engine moves to the next candidate. */
  MODEL_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(20_000),
});

export type ModelEnvironment = z.input<typeof modelEnvironmentSchema>;
export type ResolvedModelEnvironment = z.output<typeof modelEnvironmentSchema>;

/** Parses the model environment, failing with `BAD_ENVIRONMENT` and the offending names (never values). */
export function readModelEnvironment(env: Record<string, string | undefined>): ResolvedModelEnvironment {
  const parsed = modelEnvironmentSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `BAD_ENVIRONMENT: model settings are invalid: ${issueDetails(parsed.error.issues, Infinity)
        .map((issue) => issue.path)
        .join(", ")}`,
    );
  }
  return parsed.data;
}

export interface ModelSettings {
  temperature: number;
  maxOutputTokens: number;
  timeoutMs: number;
}

/**
 * Builds LangChain chat models for candidates, from the tenant's own keys first and the platform's
 * environment second. Implementations other than {@link createProviderRegistry} exist for tests and
 * the benchmark (zero-latency fakes behind the same interface).
 */
export interface ProviderRegistry {
  isAvailable(candidate: ModelCandidate): boolean;
  create(candidate: ModelCandidate, settings: ModelSettings): BaseChatModel;
}

/**
 * The production registry. Retries inside a provider client are off: the engine's fallback to the
 * next candidate is the retry, so a 429 moves on at once instead of backing off for a minute.
 */
export function createProviderRegistry(env: ResolvedModelEnvironment, tenant: ProviderCredentials = {}): ProviderRegistry {
  const keys = {
    openai: tenant.openai ?? env.OPENAI_API_KEY,
    gemini: tenant.gemini ?? env.GEMINI_API_KEY,
    groq: tenant.groq ?? env.GROQ_API_KEY,
    bedrock:
      tenant.bedrock ??
      (env.BEDROCK_ACCESS_KEY_ID && env.BEDROCK_SECRET_ACCESS_KEY
        ? { accessKeyId: env.BEDROCK_ACCESS_KEY_ID, secretAccessKey: env.BEDROCK_SECRET_ACCESS_KEY }
        : undefined),
  };
  return {
    isAvailable(candidate) {
      switch (candidate.provider) {
        case "openai":
        case "gemini":
        case "groq":
          return Boolean(keys[candidate.provider]);
        case "bedrock":
          return Boolean(keys.bedrock && env.BEDROCK_REGION);
        case "ollama":
          return Boolean(env.OLLAMA_BASE_URL);
        case "offline":
          return true;
      }
    },
    create(candidate, settings) {
      const common = { temperature: settings.temperature, maxRetries: 0 };
      switch (candidate.provider) {
        case "openai":
          return new ChatOpenAI({
            ...common,
            model: candidate.model,
            apiKey: required(keys.openai, candidate),
            maxTokens: settings.maxOutputTokens,
            timeout: settings.timeoutMs,
            ...(env.OPENAI_BASE_URL ? { configuration: { baseURL: env.OPENAI_BASE_URL } } : {}),
          });
        case "gemini":
          return new ChatGoogleGenerativeAI({
            ...common,
            model: candidate.model,
            apiKey: required(keys.gemini, candidate),
            maxOutputTokens: settings.maxOutputTokens,
            ...(env.GEMINI_BASE_URL ? { baseUrl: env.GEMINI_BASE_URL } : {}),
          });
        case "groq":
          return new ChatGroq({
            ...common,
            model: candidate.model,
            apiKey: required(keys.groq, candidate),
            maxTokens: settings.maxOutputTokens,
            timeout: settings.timeoutMs,
            ...(env.GROQ_BASE_URL ? { baseUrl: env.GROQ_BASE_URL } : {}),
          });
        case "ollama":
          return new ChatOllama({
            ...common,
            model: candidate.model,
            baseUrl: required(env.OLLAMA_BASE_URL, candidate),
            numPredict: settings.maxOutputTokens,
          });
        case "bedrock": {
          const credentials = required(keys.bedrock, candidate);
          const region = required(env.BEDROCK_REGION, candidate);
          return new ChatBedrockConverse({
            ...common,
            model: candidate.model,
            region,
            maxTokens: settings.maxOutputTokens,
            // Our own client: the wrapper's `endpointHost` forces https, which rules out a proxy URL.
            client: new BedrockRuntimeClient({
              region,
              credentials,
              maxAttempts: 1,
              ...(env.BEDROCK_ENDPOINT ? { endpoint: env.BEDROCK_ENDPOINT } : {}),
            }),
          });
        }
        case "offline":
          return new OfflineChatModel();
      }
    },
  };
}

export class ProviderNotConfiguredError extends Error {
  readonly code = "PROVIDER_NOT_CONFIGURED";
}

function required<T>(value: T | undefined, candidate: ModelCandidate): T {
  if (value === undefined || value === "") {
    throw new ProviderNotConfiguredError(`${candidate.provider} is not configured for this tenant or platform`);
  }
  return value;
}
