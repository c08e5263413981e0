import { constantTimeEqual, deriveSecret } from "../../crypto/hmac";
import { formatChannelAddress, type ChannelAddress } from "../address";

/**
 * Web chat replies as they are recorded: each session has a stream on the edge (a Durable Object
 * holding the widget's server-sent-events connections), and the pool pushes a reply to it at the
 * URL the edge put on the visitor's message. The push URL carries this token, derived from the
 * signing key, the channel and the session: only the platform can push into a session.
 */
export function pushToken(signingKey: string, address: ChannelAddress, sessionId: string): Promise<string> {
  return deriveSecret(signingKey, "webchat-push", `${formatChannelAddress(address)}/${sessionId}`);
}

export async function verifyPushToken(
  signingKey: string,
  address: ChannelAddress,
  sessionId: string,
  token: string | null,
): Promise<boolean> {
  if (!token || token.length > 128) return false;
  return constantTimeEqual(token, await pushToken(signingKey, address, sessionId));
}

/**
 * One reply as the stream carries it (the same shape `GET /webchat/:address/messages` lists):
 * `turn` is the visitor's message it answers (`<session>:<clientMessageId>`), so the widget puts
 * it in place of the tokens it showed while the reply was written.
 */
export interface StreamedReply {
  id: string;
  text: string;
  at: string;
  turn?: string;
}

/** A server-sent event for one reply; its id lets a reconnecting widget say where it was. */
export function replyEvent(reply: StreamedReply): string {
  return `id: ${reply.id}\nevent: reply\ndata: ${JSON.stringify(reply)}\n\n`;
}

/** A server-sent event for a reply's tokens as the model writes them (no id: a reconnecting widget reads the whole reply instead). */
export function tokenEvent(tokens: { turn: string; text: string }): string {
  return `event: token\ndata: ${JSON.stringify(tokens)}\n\n`;
}
