import type { ChannelAdapter } from "../adapter";
import { readChannelSettings, webchatSettings } from "../config";
import { postToReplyUrl } from "../reply-stream";

/**
 * Web chat: the widget talks to the edge's own routes (`/webchat/*`: session, send, stream, read),
 * so there is no provider webhook. There is no provider to call either: the reply row itself is
 * what the visitor's widget reads, so "sending" is recording it as sent, then pushing it into the
 * session's stream on the edge (where the reply's tokens went while the model wrote it) (best effort: a widget that missed it reads it from the messages
 * list when its stream reconnects, or by polling when it has none).
 */
export const webchatAdapter: ChannelAdapter = {
  kind: "webchat",
  displayName: "Web chat",
  capabilities: { textLimit: 32_768, buttons: 0, media: false, templates: false, streaming: true, deliveryStatuses: false },
  settings: webchatSettings,
  connection: {
    connectFields: { settings: webchatSettings },
    credentialFields: [],
    connect: async () => ({}),
    async check(_link, _credentials, settings) {
      const origins = readChannelSettings(settings).allowedOrigins ?? [];
      return [
        {
          name: "allowed origins",
          ok: origins.length > 0,
          detail: origins.length ? origins.join(", ") : "no allowed origins: the widget cannot start sessions",
        },
      ];
    },
    publicFields: async (link) => ({
      embedSnippet: `<script src="${link.publicBaseUrl}/webchat/widget.js" data-channel="${link.address}" async></script>`,
    }),
    describeError: () => undefined,
  },
  sender: (deps) => ({
    async send(reply, progress) {
      if (reply.partsDelivered === 0) await progress.onPart(reply.replyId, { last: true });
      const replyUrl = reply.inboundSender?.replyUrl;
      if (typeof replyUrl !== "string") return;
      const pushed = await postToReplyUrl(
        replyUrl,
        {
          id: reply.replyId,
          text: reply.text,
          at: (deps.now?.() ?? new Date()).toISOString(),
          ...(reply.inboundProviderMessageId ? { turn: reply.inboundProviderMessageId } : {}),
        },
        3000,
      ).catch(() => undefined);
      if (!pushed?.ok) deps.logger.log("info", "send.webchat_push_failed", { channel: "webchat", status: pushed?.status ?? 0 });
    },
  }),
};
