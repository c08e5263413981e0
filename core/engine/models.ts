import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { ChatOpenAI } from "@langchain/openai";
import { OFFLINE_MODEL_NAME, OfflineChatModel } from "./offline-model";

export interface ModelEnvironment {
  OPENAI_API_KEY?: string | undefined;
  /** Loopback fakes in tests, a proxy or gateway in production. */
  OPENAI_BASE_URL?: string | undefined;
}

export interface AgentModelSettings {
  model: string;
  temperature: number;
  maxOutputTokens: number;
}

export interface ResolvedModel {
  chatModel: BaseChatModel;
  provider: "openai" | "offline";
  model: string;
}

/**
 * Picks the chat model for a turn. For now: OpenAI when a key is configured (the agent's model,
 * gpt-4o-mini by default), otherwise the built-in offline model. The engine issue replaces this
 * with per-turn policies and fallbacks.
 */
export function resolveChatModel(agent: AgentModelSettings, env: ModelEnvironment): ResolvedModel {
  if (env.OPENAI_API_KEY) {
    const model = agent.model.startsWith("gpt-") ? agent.model : "gpt-4o-mini";
    return {
      provider: "openai",
      model,
      chatModel: new ChatOpenAI({
        model,
        apiKey: env.OPENAI_API_KEY,
        temperature: agent.temperature,
        maxTokens: agent.maxOutputTokens,
        timeout: 30_000,
        maxRetries: 1,
        ...(env.OPENAI_BASE_URL ? { configuration: { baseURL: env.OPENAI_BASE_URL } } : {}),
      }),
    };
  }
  return { provider: "offline", model: OFFLINE_MODEL_NAME, chatModel: new OfflineChatModel() };
}
