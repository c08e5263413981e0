import { z } from "zod";
import type { ChannelConnection, ChannelLink } from "../adapter";
import { probe } from "../checks";
import { telegramSettings } from "../config";
import { TelegramApiError, TelegramBotApi } from "./bot-api";
import { TELEGRAM_ALLOWED_UPDATES } from "./update";
import { telegramWebhookSecret } from "./webhook-secret";

export const telegramBotToken = z.string().regex(/^\d{3,20}:[A-Za-z0-9_-]{10,100}$/, "a bot token from @BotFather, like 123456:ABC-DEF...");

const describeError = (error: unknown) =>
  error instanceof TelegramApiError ? `Telegram answered ${error.status}: ${error.description}`.slice(0, 300) : undefined;

/**
 * A bot token from @BotFather: connecting checks it (`getMe`) and points the bot's webhook at the
 * channel (`setWebhook` with the channel's derived secret and the update kinds handled); removing
 * the channel deletes the webhook, best effort.
 */
export const telegramConnection: ChannelConnection = {
  connectFields: { botToken: telegramBotToken, settings: telegramSettings.optional() },
  credentialFields: ["botToken"],
  keptFacts: ["botId", "botUsername"],
  async connect(link, credentials) {
    const api = bot(link, credentials.botToken ?? "");
    const me = await api.getMe();
    await api.setWebhook({
      url: link.webhookUrl,
      secretToken: await telegramWebhookSecret(link.signingKey, { tenantId: link.tenantId, channelId: link.channelId }),
      allowedUpdates: TELEGRAM_ALLOWED_UPDATES,
    });
    return { botId: me.id, ...(me.username ? { botUsername: me.username } : {}) };
  },
  async check(link, credentials) {
    if (!credentials?.botToken) return [{ name: "credentials", ok: false, detail: "no readable bot token is stored" }];
    const api = bot(link, credentials.botToken);
    return [
      await probe("token", async () => `bot @${(await api.getMe()).username ?? "?"}`, describeError),
      await probe(
        "webhook",
        async () => {
          const info = await api.getWebhookInfo();
          if (!info.url.endsWith(`/webhooks/telegram/${link.address}`))
            throw new Error("the bot's webhook points elsewhere; update the channel's token to register it again");
          return `registered, ${info.pending_update_count} pending update(s)${info.last_error_message ? `, last error: ${info.last_error_message}` : ""}`;
        },
        describeError,
      ),
    ];
  },
  async disconnect(link, credentials) {
    const api = bot(link, credentials.botToken ?? "");
    return api.deleteWebhook().then(
      () => true,
      () => false,
    );
  },
  describeError,
};

function bot(link: ChannelLink, token: string): TelegramBotApi {
  return new TelegramBotApi({ apiBase: link.endpoints.telegramApiBase, token, ...(link.fetch ? { fetch: link.fetch } : {}) });
}
