import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OFFLINE_LABEL } from "../../core/engine/offline-model";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { textUpdate } from "../support/telegram";

/**
 * `TELEGRAM_BOT_TOKEN` mode: the stack long-polls getUpdates (here from the fake standing in for
 * api.telegram.org) into the same verified webhook path, and replies with the real token.
 */
describe("a real bot on a machine with no public URL", () => {
  const token = "5550001234:real-looking-bot-token-abc";
  let database: TestDatabase;
  let telegram: FakeTelegram;
  let stack: LocalStack;

  beforeAll(async () => {
    database = await createTestDatabase();
    telegram = await startFakeTelegram();
    stack = await startLocalStack({
      database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
      telegramBotToken: token,
      telegramApiBase: telegram.url,
      withChroma: false,
      output: "quiet",
      poolEnv: { POOL_WAIT_TIME_SECONDS: "1", LOG_LEVEL: "warn" },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await telegram?.close();
    await database?.close();
  });

  it("answers an update fetched with getUpdates, through the webhook, with the channel's token", async () => {
    expect(stack.telegram).toBeUndefined();
    telegram.pushUpdate(textUpdate("hello from the Telegram app", { chatId: 4001 }));
    const [reply] = await telegram.waitForSent(4001, 1);
    expect(reply!.text).toContain(OFFLINE_LABEL);
    expect(reply!.text).toContain("hello from the Telegram app");
    const methods = telegram.calls.map((call) => call.method);
    expect(methods).toContain("deleteWebhook");
    expect(methods).toContain("getUpdates");
    expect(telegram.calls.filter((call) => call.method === "sendMessage").every((call) => call.token === token)).toBe(true);
  });
});
