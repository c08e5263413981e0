/** A message of the conversation as memory sees it. */
export interface MemoryMessage {
  /** The stored message's id, when it has one: the summary records the last message it covers. */
  id?: string;
  role: "user" | "assistant";
  content: string;
  createdAt: Date;
}

export interface MemoryPlan<T extends MemoryMessage> {
  /** Older messages to fold into the conversation summary before answering. */
  overflow: T[];
  /** Recent messages the model sees verbatim. */
  keep: T[];
}

/**
 * Short-term memory: the model sees the conversation summary plus at most `window` recent
 * messages. When the unsummarised history grows past the window, the older ones overflow into
 * the summary and about half a window stays verbatim, so summarisation runs once every few turns
 * (not every turn) and the prompt stays bounded however long the conversation gets. The kept part
 * starts with a user message (Gemini rejects a history that opens with the model's turn).
 * A window below 2 keeps the last `window` messages and never summarises.
 */
export function planMemory<T extends MemoryMessage>(history: readonly T[], window: number): MemoryPlan<T> {
  if (history.length <= window) return { overflow: [], keep: [...history] };
  if (window < 2) return { overflow: [], keep: window > 0 ? history.slice(-window) : [] };
  let cut = history.length - Math.ceil(window / 2);
  // Start the kept part at a user message: an earlier one if it still fits the window, else a later one.
  let back = cut;
  while (back > 0 && history[back]!.role !== "user" && history.length - back < window) back--;
  if (history[back]!.role === "user") cut = back;
  else while (cut < history.length && history[cut]!.role !== "user") cut++;
  return { overflow: history.slice(0, cut), keep: history.slice(cut) };
}

export const SUMMARY_INSTRUCTIONS =
  "You maintain the running summary of a support conversation between a user and an assistant. " +
  "Merge the previous summary and the new messages into one updated summary of at most 200 words: " +
  "who the user is, what they asked for, facts and decisions, what is still open. Write plain prose in " +
  "the conversation's language. Answer with the summary only.";

/** The one message the summariser model reads: previous summary, then the overflowing messages. */
export function summaryRequest(previous: string | null | undefined, overflow: readonly MemoryMessage[]): string {
  const transcript = overflow.map((m) => `${m.role === "user" ? "User" : "Assistant"}: ${m.content}`).join("\n");
  return `Previous summary:\n${previous?.trim() || "(none)"}\n\nNew messages:\n${transcript}`;
}

/** How the summary reaches the agent: appended to its system prompt, clearly delimited. */
export function withSummary(systemPrompt: string, summary: string | null | undefined): string {
  return summary?.trim() ? `${systemPrompt}\n\nSummary of the earlier conversation:\n${summary.trim()}` : systemPrompt;
}
