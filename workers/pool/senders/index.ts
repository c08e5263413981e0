import type { ChannelKind } from "../../../db/schema";
import { telegramSender } from "./telegram";
import { PermanentSendError, type ChannelSender, type SenderDependencies } from "./types";
import { whatsappSender } from "./whatsapp";

export * from "./types";

/**
 * Web chat has no provider to call: the reply row itself is what the visitor's widget reads
 * (the edge serves it by session), so "sending" is recording it as sent.
 */
const webchatSender: ChannelSender = {
  async send(reply, progress) {
    if (reply.partsDelivered === 0) await progress.onPart(reply.replyId);
  },
};

/** The sender for a channel kind; a kind with none fails its replies permanently, with the reason. */
export function senderFor(kind: ChannelKind, deps: SenderDependencies): ChannelSender {
  switch (kind) {
    case "telegram":
      return telegramSender(deps);
    case "whatsapp":
      return whatsappSender(deps);
    case "webchat":
      return webchatSender;
    default:
      return {
        send() {
          return Promise.reject(new PermanentSendError(`sending on ${kind} channels is not supported yet`));
        },
      };
  }
}
