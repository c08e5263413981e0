/**
 * Commands every channel understands, typed as a message: `/reset` starts the conversation over
 * (the agent forgets the earlier turns and the summary); `/human` (or `/agent`, `/operator`) hands
 * the conversation to a person: the agent stops answering it until it is released through the API.
 * Telegram-style `/cmd@botname` works too.
 */
export type ConversationCommand = "reset" | "handoff";

const COMMANDS: Record<string, ConversationCommand> = {
  reset: "reset",
  restart: "reset",
  human: "handoff",
  agent: "handoff",
  operator: "handoff",
};

export function parseCommand(text: string): ConversationCommand | undefined {
  const match = /^\/([a-z]+)(?:@[A-Za-z0-9_]+)?\s*$/i.exec(text.trim());
  return match ? COMMANDS[match[1]!.toLowerCase()] : undefined;
}

export const COMMAND_REPLIES: Record<ConversationCommand, string> = {
  reset: "Done: I have forgotten our earlier conversation. How can I help?",
  handoff: "I have asked a person from our team to take over. They will answer here as soon as they can.",
};

/** What a user reads when every model candidate failed on the message's last delivery. */
export const ALL_MODELS_FAILED_REPLY =
  "Sorry, I could not answer your message just now because of a technical problem on our side. Please try again in a few minutes.";
