import type { ChannelAdapter } from "../adapter";
import { webchatSettings } from "../config";

/**
 * Web chat: the widget talks to the edge's own routes (`/webchat/*`: session, send, poll), so there
 * is no provider webhook. There is no provider to call either: the reply row itself is what the
 * visitor's widget reads, so "sending" is recording it as sent.
 */
export const webchatAdapter: ChannelAdapter = {
  kind: "webchat",
  capabilities: { textLimit: 32_768, buttons: 0, media: false, templates: false, streaming: false, deliveryStatuses: false },
  settings: webchatSettings,
  sender: () => ({
    async send(reply, progress) {
      if (reply.partsDelivered === 0) await progress.onPart(reply.replyId);
    },
  }),
};
