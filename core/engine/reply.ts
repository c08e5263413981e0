import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from "@langchain/core/messages";
import { estimateTokens } from "./offline-model";

export interface HistoryTurn {
  role: "user" | "assistant";
  content: string;
}

export interface ReplyInput {
  chatModel: BaseChatModel;
  systemPrompt: string;
  /** Earlier turns, oldest first, already cut to the agent's memory window. */
  history: HistoryTurn[];
  text: string;
}

export interface Reply {
  text: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
}

export class EmptyReplyError extends Error {
  readonly code = "MODEL_EMPTY_REPLY";
}

/** One model call with the agent's system prompt, the recent turns and the new message. */
export async function generateReply(input: ReplyInput): Promise<Reply> {
  const messages: BaseMessage[] = [
    new SystemMessage(input.systemPrompt),
    ...input.history.map((turn) => (turn.role === "user" ? new HumanMessage(turn.content) : new AIMessage(turn.content))),
    new HumanMessage(input.text),
  ];
  const started = performance.now();
  const result = await input.chatModel.invoke(messages);
  const latencyMs = Math.round(performance.now() - started);
  const text = typeof result.content === "string" ? result.content : result.text;
  if (!text.trim()) throw new EmptyReplyError("the model returned an empty reply");
  const usage = result.usage_metadata;
  return {
    text,
    inputTokens: usage?.input_tokens ?? messages.reduce((sum, m) => sum + estimateTokens(String(m.content)), 0),
    outputTokens: usage?.output_tokens ?? estimateTokens(text),
    latencyMs,
  };
}
