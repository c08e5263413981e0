import { PermanentSendError, type ChannelSender, type SenderDependencies } from "../adapter";
import { postToReplyUrl } from "../reply-stream";

/**
 * Speaks a reply into its call: the reply goes to the call's Durable Object on the edge (the URL
 * the edge put on the caller's words, with the call's token), which sends it to Twilio as text to
 * speak and, for a handoff, ends the relay so the call is transferred. A call that has ended, or a
 * turn the caller talked over before it was answered, fails the reply once with the reason; the
 * words and the reply stay in the conversation.
 */
export function voiceSender(deps: SenderDependencies): ChannelSender {
  return {
    async send(reply, progress) {
      const replyUrl = reply.inboundSender?.replyUrl;
      if (typeof replyUrl !== "string") throw new PermanentSendError("the reply has no call to be spoken in");
      let response: Awaited<ReturnType<typeof postToReplyUrl>>;
      try {
        response = await postToReplyUrl(
          replyUrl,
          { turn: reply.inboundProviderMessageId, text: reply.text, handoff: reply.handoff === true },
          10_000,
        );
      } catch (error) {
        deps.logger.log("warn", "send.voice_unreachable", { channel: "voice" });
        throw error;
      }
      const { answer } = response;
      if (response.ok && typeof answer.messageId === "string") return progress.onPart(answer.messageId, { last: true });
      if (response.status === 409 || response.status === 410 || response.status === 403) {
        throw new PermanentSendError(answer.error ?? `the call answered ${response.status}`);
      }
      throw new Error(`the call's relay answered ${response.status}`);
    },
  };
}
