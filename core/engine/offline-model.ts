import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";

export const OFFLINE_MODEL_NAME = "offline-echo-1";
export const OFFLINE_LABEL = "[offline model]";

/**
 * A built-in chat model that needs no account or network, so the whole stack runs on a laptop
 * with no keys. It is a real LangChain chat model (the engine treats it like any provider) and it
 * labels every reply as offline so nobody mistakes it for an AI answer. Deterministic: tests can
 * assert on its replies.
 */
export class OfflineChatModel extends BaseChatModel {
  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  _llmType(): string {
    return "offline";
  }

  /**
   * Agents bind tools to every model; the offline model cannot call any, so it accepts them and
   * answers in text (model selection never gives it a turn that needs tools).
   */
  override bindTools(): this {
    return this;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const last = [...messages].reverse().find((message) => message.getType() === "human");
    const said = last ? textOf(last).trim() : "";
    const earlier = messages.filter((message) => message.getType() === "human").length - 1;
    const system = messages.find((message) => message.getType() === "system");
    const persona = system ? firstSentence(textOf(system)) : undefined;

    const lines = [
      `${OFFLINE_LABEL} You said: "${truncate(said, 500)}".`,
      earlier > 0
        ? `I remember ${earlier} earlier message${earlier === 1 ? "" : "s"} from you in this conversation.`
        : "This is the start of our conversation.",
    ];
    if (persona) lines.push(`(Agent instructions begin: "${truncate(persona, 120)}")`);
    lines.push("Set OPENAI_API_KEY to get answers from gpt-4o-mini.");
    const text = lines.join(" ");

    const inputTokens = messages.reduce((sum, message) => sum + estimateTokens(textOf(message)), 0);
    const outputTokens = estimateTokens(text);
    return {
      generations: [
        {
          text,
          message: new AIMessage({
            content: text,
            usage_metadata: {
              input_tokens: inputTokens,
              output_tokens: outputTokens,
              total_tokens: inputTokens + outputTokens,
            },
            response_metadata: { model_name: OFFLINE_MODEL_NAME },
          }),
        },
      ],
      llmOutput: { tokenUsage: { promptTokens: inputTokens, completionTokens: outputTokens } },
    };
  }
}

function textOf(message: BaseMessage): string {
  return typeof message.content === "string"
    ? message.content
    : message.content.map((part) => ("text" in part && typeof part.text === "string" ? part.text : "")).join("");
}

function firstSentence(text: string): string {
  return text.split(/(?<=[.!?])\s/)[0] ?? text;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A rough count (four characters a token) for usage records when a provider reports none. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
