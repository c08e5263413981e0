import type { ChannelAdapter } from "../adapter";
import { telegramSettings } from "../config";
import { TELEGRAM_TEXT_LIMIT } from "./bot-api";
import { telegramConnection } from "./connection";
import { telegramMedia } from "./media";
import { normalizeTelegramUpdate } from "./normalize";
import { telegramSender } from "./sender";
import { telegramUpdate, type TelegramUpdate } from "./update";
import { verifyTelegramSecret } from "./webhook-secret";

/**
 * Telegram bots: the webhook carries `X-Telegram-Bot-Api-Secret-Token`, HMAC-derived per channel
 * from the signing key when the webhook was registered, so it is checked before the body is read
 * and without a database; replies are plain text split at 4,096 characters.
 */
export const telegramAdapter: ChannelAdapter = {
  kind: "telegram",
  displayName: "Telegram",
  capabilities: { textLimit: TELEGRAM_TEXT_LIMIT, buttons: 0, media: true, templates: false, streaming: false, deliveryStatuses: false },
  settings: telegramSettings,
  webhook: {
    async verifyRequest({ address, headers, secrets }) {
      return (await verifyTelegramSecret(secrets.signingKey, address, headers.get("x-telegram-bot-api-secret-token") ?? undefined))
        ? { ok: true }
        : { ok: false, status: 401, reason: "bad_secret", message: "Missing or wrong X-Telegram-Bot-Api-Secret-Token." };
    },
    payload: telegramUpdate,
    payloadName: "a Telegram update",
    normalize(address, update: TelegramUpdate, receivedAt) {
      const result = normalizeTelegramUpdate(address, update, receivedAt);
      return result.handled ? { messages: [result.message], ignored: [] } : { messages: [], ignored: [result.reason] };
    },
    // Telegram reads only the status; the reason helps whoever looks at the bot's webhook info.
    acknowledge: ({ messages, ignored }) => (messages.length ? { ok: true } : { ok: true, ignored: ignored[0] }),
  },
  connection: telegramConnection,
  sender: telegramSender,
  media: telegramMedia,
};
