import { TelegramApiError, TelegramBotApi } from "../core/channels/telegram/bot-api";
import { TELEGRAM_ALLOWED_UPDATES } from "../core/channels/telegram/update";
import type { Logger } from "../core/observability/log";

export interface TelegramPollerOptions {
  apiBase: string;
  token: string;
  /** The edge's webhook URL for the channel. */
  webhookUrl: string;
  /** The channel's derived `X-Telegram-Bot-Api-Secret-Token`. */
  secret: string;
  logger: Logger;
  /** Long-poll timeout in seconds (Telegram allows up to 50). */
  pollTimeoutSeconds?: number;
}

export interface TelegramPoller {
  stop(): Promise<void>;
}

/**
 * Runs a real bot on a machine with no public URL: long-polls `getUpdates` and posts each update
 * to the edge's webhook exactly as Telegram would, so the same verified path handles it. An update
 * is confirmed (offset advanced) only once the edge accepted it (2xx) or refused it for good
 * (4xx); on a 5xx or a network error it is posted again after a pause, so nothing is lost. It asks
 * for the same update kinds a channel's webhook does, so both paths see edited messages alike.
 */
export function startTelegramPoller(options: TelegramPollerOptions): TelegramPoller {
  const api = new TelegramBotApi({ apiBase: options.apiBase, token: options.token });
  const controller = new AbortController();
  let offset = 0;

  const forward = async (update: { update_id: number }): Promise<boolean> => {
    try {
      const response = await fetch(options.webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": options.secret },
        body: JSON.stringify(update),
        signal: controller.signal,
      });
      if (response.status >= 500) return false;
      if (!response.ok) options.logger.log("warn", "poller.update_refused", { updateId: update.update_id, status: response.status });
      return true;
    } catch {
      return false;
    }
  };

  const loop = async () => {
    // getUpdates answers 409 while a webhook is set; polling replaces it.
    await api.deleteWebhook().catch(() => {});
    let pause = 1_000;
    while (!controller.signal.aborted) {
      try {
        const updates = (await api.getUpdates(
          { offset, timeout: options.pollTimeoutSeconds ?? 25, allowed_updates: TELEGRAM_ALLOWED_UPDATES },
          controller.signal,
        )) as Array<{
          update_id: number;
        }>;
        for (const update of updates) {
          while (!(await forward(update))) {
            if (controller.signal.aborted) return;
            await sleep(pause, controller.signal);
          }
          offset = update.update_id + 1;
        }
        pause = 1_000;
      } catch (error) {
        if (controller.signal.aborted) return;
        const retryAfter = error instanceof TelegramApiError ? error.retryAfterSeconds : undefined;
        options.logger.log("warn", "poller.get_updates_failed", { status: error instanceof TelegramApiError ? error.status : 0 });
        await sleep(retryAfter ? retryAfter * 1000 : pause, controller.signal);
        pause = Math.min(pause * 2, 30_000);
      }
    }
  };
  const running = loop();

  return {
    async stop() {
      controller.abort();
      await running.catch(() => {});
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
