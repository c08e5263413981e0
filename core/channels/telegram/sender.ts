import { PermanentSendError, RateLimitedError, type ChannelSender, type SenderDependencies } from "../adapter";
import { splitText } from "../split";
import { TelegramApiError, TelegramBotApi, TELEGRAM_TEXT_LIMIT } from "./bot-api";
import { replyWithoutImages } from "../content";
import { readChannelSettings } from "../config";

/** Longest `retry_after` waited in place; a longer one goes back to the queue. */
const MAX_RETRY_AFTER_SECONDS = 60;
const MAX_ATTEMPTS_PER_PART = 4;

/**
 * Telegram: plain text (no parse mode, so nothing needs escaping and nothing the model writes is
 * interpreted as markup), split at 4,096 characters; a 429 waits the `retry_after` Telegram names.
 * 400 (chat not found, bad request) and 403 (blocked, kicked) never succeed: permanent.
 */
export function telegramSender(deps: SenderDependencies): ChannelSender {
  const { sleep } = deps;
  return {
    async send(reply, progress) {
      const botToken = reply.credentials?.botToken;
      if (!botToken) throw new PermanentSendError("the channel has no credentials");
      const api = new TelegramBotApi({ apiBase: deps.telegramApiBase, token: botToken });
      const linkPreviews = readChannelSettings(reply.channel.config).linkPreviews === true;
      const parts = splitText(replyWithoutImages(reply.text), TELEGRAM_TEXT_LIMIT);
      for (const [index, part] of parts.entries()) {
        if (index < reply.partsDelivered) continue;
        for (let attempt = 1; ; attempt++) {
          try {
            const sent = await api.sendMessage(reply.conversationKey, part, { linkPreviews });
            await progress.onPart(String(sent.message_id), { last: index === parts.length - 1 });
            break;
          } catch (error) {
            if (!(error instanceof TelegramApiError)) throw error;
            if (error.status === 400 || error.status === 403)
              throw new PermanentSendError(`${error.status}: ${error.description}`.slice(0, 500));
            if (error.status !== 429) throw error;
            const wait = error.retryAfterSeconds ?? 1;
            if (attempt >= MAX_ATTEMPTS_PER_PART || wait > MAX_RETRY_AFTER_SECONDS)
              throw new RateLimitedError(`Telegram asked to retry after ${wait} s`);
            deps.logger.log("warn", "send.rate_limited", { channel: "telegram", retryAfterSeconds: wait, attempt });
            await sleep(wait * 1000);
          }
        }
      }
    },
  };
}
