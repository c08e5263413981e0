import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { TELEGRAM_ALLOWED_UPDATES } from "../core/channels/telegram/update";
import { createLogger } from "../core/observability/log";
import { startFakeTelegram, type FakeTelegram } from "../test/fakes/telegram";
import { textUpdate } from "../test/support/telegram";
import { startTelegramPoller, type TelegramPoller } from "./telegram-poller";

describe("Telegram long-polling bridge", () => {
  let telegram: FakeTelegram | undefined;
  let poller: TelegramPoller | undefined;
  let webhook: Server | undefined;

  afterEach(async () => {
    await poller?.stop();
    await telegram?.close();
    await new Promise((resolve) => (webhook ? webhook.close(resolve) : resolve(undefined)));
  });

  it("posts each update to the webhook with the secret, retrying a 5xx without losing or reordering", async () => {
    telegram = await startFakeTelegram();
    const received: Array<{ secret: string | undefined; updateId: number }> = [];
    let failuresLeft = 2;
    webhook = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (failuresLeft-- > 0) return response.writeHead(503).end();
      const update = JSON.parse(Buffer.concat(chunks).toString()) as { update_id: number };
      received.push({ secret: request.headers["x-telegram-bot-api-secret-token"] as string | undefined, updateId: update.update_id });
      response.writeHead(200).end("{}");
    });
    await new Promise<void>((resolve) => webhook!.listen(0, "127.0.0.1", resolve));
    const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;

    telegram.pushUpdate(textUpdate("one", { updateId: 1 }));
    telegram.pushUpdate(textUpdate("two", { updateId: 2 }));
    poller = startTelegramPoller({
      apiBase: telegram.url,
      token: "123456:poller-test-token",
      webhookUrl,
      secret: "s3cret",
      logger: createLogger({}, "error"),
      pollTimeoutSeconds: 1,
    });
    const deadline = Date.now() + 15_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([
      { secret: "s3cret", updateId: 1 },
      { secret: "s3cret", updateId: 2 },
    ]);
    expect(telegram.calls.some((call) => call.method === "deleteWebhook")).toBe(true);
    // The same update kinds as a webhook set by the channel API.
    expect(telegram.calls.find((call) => call.method === "getUpdates")?.params.allowed_updates).toEqual(TELEGRAM_ALLOWED_UPDATES);
    // Confirmed updates are not fetched again.
    telegram.pushUpdate(textUpdate("three", { updateId: 3 }));
    while (received.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.map((r) => r.updateId)).toEqual([1, 2, 3]);
  });
});
