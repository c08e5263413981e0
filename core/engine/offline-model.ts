import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import type { ToolCall } from "@langchain/core/messages/tool";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";

export const OFFLINE_MODEL_NAME = "offline-echo-1";
export const OFFLINE_LABEL = "[offline model]";
/** `/tool <name> {json arguments}`: the offline model calls that tool (there is no model to decide to). */
export const OFFLINE_TOOL_REQUEST = /^\/tool\s+([A-Za-z0-9_-]+)\s*([\s\S]*)$/;

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

  /** The names of the tools bound for this turn (callable with `/tool`). */
  private toolNames: string[] = [];

  /**
   * Agents bind tools to every model. The offline model cannot decide to call one, but it calls a
   * bound tool when the person asks for it explicitly (`/tool <name> {json arguments}`), so tools
   * and integrations can be tried locally with no model account; it then reports what the tool
   * answered.
   */
  override bindTools(tools: Array<{ name?: unknown } | Record<string, unknown>>): this {
    const bound = new OfflineChatModel() as this;
    bound.toolNames = tools.map((t) => (typeof t.name === "string" ? t.name : "")).filter(Boolean);
    return bound;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const latest = messages.at(-1);
    if (latest?.getType() === "tool") return result(`${OFFLINE_LABEL} The tool answered: ${truncate(textOf(latest), 2000)}`, messages);
    const last = [...messages].reverse().find((message) => message.getType() === "human");
    const said = last ? textOf(last).trim() : "";
    const asked = OFFLINE_TOOL_REQUEST.exec(said);
    if (asked && latest === last) {
      const [, name, rawArgs] = asked as unknown as [string, string, string];
      if (!this.toolNames.includes(name))
        return result(
          `${OFFLINE_LABEL} There is no tool "${name}" here. Tools this agent has: ${this.toolNames.join(", ") || "none"}.`,
          messages,
        );
      let args: Record<string, unknown>;
      try {
        args = rawArgs.trim() ? (JSON.parse(rawArgs) as Record<string, unknown>) : {};
      } catch {
        return result(
          `${OFFLINE_LABEL} The arguments after the tool's name must be a JSON object, e.g. {"email":"ada@example.com"}.`,
          messages,
        );
      }
      return result("", messages, [{ id: `offline_${Date.now().toString(36)}`, name, args, type: "tool_call" }]);
    }
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
    return result(lines.join(" "), messages);
  }

  /**
   * Streamed when a listener asks (a call, a watched web chat): the same answer, a word at a time,
   * so streaming paths are exercised locally exactly as a provider's token stream drives them.
   */
  override async *_streamResponseChunks(
    messages: BaseMessage[],
    _options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const [generation] = (await this._generate(messages)).generations;
    const whole = generation!.message as AIMessage;
    const words = generation!.text.match(/\s*\S+/g) ?? [];
    for (const [i, word] of words.entries()) {
      const last = i === words.length - 1 && !whole.tool_calls?.length;
      const chunk = new ChatGenerationChunk({
        text: word,
        message: new AIMessageChunk({
          content: word,
          ...(last ? { usage_metadata: whole.usage_metadata, response_metadata: whole.response_metadata } : {}),
        }),
      });
      yield chunk;
      await runManager?.handleLLMNewToken(word, undefined, undefined, undefined, undefined, { chunk });
    }
    if (whole.tool_calls?.length) {
      yield new ChatGenerationChunk({
        text: "",
        message: new AIMessageChunk({
          content: "",
          tool_call_chunks: whole.tool_calls.map((call, index) => ({
            type: "tool_call_chunk" as const,
            index,
            ...(call.id ? { id: call.id } : {}),
            name: call.name,
            args: JSON.stringify(call.args),
          })),
          usage_metadata: whole.usage_metadata,
          response_metadata: whole.response_metadata,
        }),
      });
    }
  }
}

/** One generation with usage estimated from the text (the offline model has no tokenizer). */
function result(text: string, messages: BaseMessage[], toolCalls: ToolCall[] = []): ChatResult {
  const inputTokens = messages.reduce((sum, message) => sum + estimateTokens(textOf(message)), 0);
  const outputTokens = estimateTokens(text) + (toolCalls.length ? estimateTokens(JSON.stringify(toolCalls)) : 0);
  return {
    generations: [
      {
        text,
        message: new AIMessage({
          content: text,
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          usage_metadata: { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
          response_metadata: { model_name: OFFLINE_MODEL_NAME },
        }),
      },
    ],
    llmOutput: { tokenUsage: { promptTokens: inputTokens, completionTokens: outputTokens } },
  };
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
