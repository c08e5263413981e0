import { PermanentSendError, RateLimitedError, type ChannelSender, type SenderDependencies } from "../adapter";
import { extractChoices } from "../choices";
import { readChannelSettings } from "../config";
import { splitText } from "../split";
import { GraphApiError, WhatsAppGraphApi, WHATSAPP_TEXT_LIMIT } from "./graph-api";
import { templateObject } from "./templates";

/** WhatsApp's customer-service window: free-form messages only this long after the person last wrote. */
export const CUSTOMER_SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;
const MAX_ATTEMPTS_PER_PART = 4;

/**
 * WhatsApp Cloud API: marks the answered message read, then sends the reply:
 * - inside the 24-hour window: buttons when the reply ends with two or three short choices, else
 *   text split at 4,096 characters;
 * - outside it: the channel's approved template, or a permanent failure saying none is configured
 *   (free-form text would be refused with 131047 anyway);
 * - rate limits (130429, 131056) back off exponentially in place, then go back to the queue;
 *   other 4xx errors will never succeed and fail the send with Meta's reason, once.
 */
export function whatsappSender(deps: SenderDependencies): ChannelSender {
  const { sleep } = deps;
  const baseMs = deps.rateLimitBaseMs ?? 1000;
  return {
    async send(reply, progress) {
      const accessToken = reply.credentials?.accessToken;
      if (!accessToken) throw new PermanentSendError("the channel has no credentials");
      const settings = readChannelSettings(reply.channel.config);
      if (!settings.phoneNumberId) throw new PermanentSendError("the channel has no phone number id");
      const phoneNumberId = settings.phoneNumberId;
      const api = new WhatsAppGraphApi({ apiBase: deps.whatsappApiBase, accessToken });

      if (reply.inboundProviderMessageId && reply.partsDelivered === 0) {
        // Blue ticks: best effort, a failure here must not cost the reply.
        await api.markRead(phoneNumberId, reply.inboundProviderMessageId).catch((error: unknown) => {
          deps.logger.log("warn", "send.mark_read_failed", {
            channel: "whatsapp",
            error: error instanceof GraphApiError ? error.errorCode : "unknown",
          });
        });
      }

      const now = deps.now?.() ?? new Date();
      const insideWindow = reply.lastInboundAt !== undefined && now.getTime() - reply.lastInboundAt.getTime() < CUSTOMER_SERVICE_WINDOW_MS;
      const to = reply.conversationKey;
      let messages: Array<Record<string, unknown>>;
      if (!insideWindow) {
        if (!settings.template) {
          throw new PermanentSendError("outside the 24-hour customer-service window and the channel has no template message configured");
        }
        const name = typeof reply.inboundSender?.name === "string" ? reply.inboundSender.name : undefined;
        messages = [
          {
            to,
            type: "template",
            template: templateObject(settings.template, { name, phone: `+${reply.conversationKey}`, reply: reply.text }),
          },
        ];
      } else {
        const choices = extractChoices(reply.text);
        messages = choices
          ? [
              {
                to,
                type: "interactive",
                interactive: {
                  type: "button",
                  body: { text: choices.body },
                  action: {
                    buttons: choices.options.map((title, index) => ({ type: "reply", reply: { id: `choice-${index + 1}`, title } })),
                  },
                },
              },
            ]
          : splitText(reply.text, WHATSAPP_TEXT_LIMIT).map((body) => ({ to, type: "text", text: { body, preview_url: false } }));
      }

      for (const [index, message] of messages.entries()) {
        if (index < reply.partsDelivered) continue;
        for (let attempt = 1; ; attempt++) {
          try {
            await progress.onPart(await api.sendMessage(phoneNumberId, message), { last: index === messages.length - 1 });
            break;
          } catch (error) {
            if (!(error instanceof GraphApiError)) throw error;
            if (error.rateLimited) {
              if (attempt >= MAX_ATTEMPTS_PER_PART)
                throw new RateLimitedError(`WhatsApp rate limit (${error.errorCode ?? error.status}) after ${attempt} attempts`);
              deps.logger.log("warn", "send.rate_limited", { channel: "whatsapp", errorCode: error.errorCode, attempt });
              await sleep(baseMs * 2 ** (attempt - 1));
              continue;
            }
            if (error.permanent) throw new PermanentSendError(`${error.errorCode ?? error.status}: ${error.description}`.slice(0, 500));
            throw error;
          }
        }
      }
    },
  };
}
