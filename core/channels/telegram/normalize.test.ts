import { describe, expect, it } from "vitest";
import { inboundMessage } from "../../queue/inbound-message";
import { normalizeTelegramUpdate } from "./normalize";
import { telegramUpdate } from "./update";
import { textUpdate } from "../../../test/support/telegram";

const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "22222222-2222-4222-8222-222222222222" };
const now = new Date("2026-11-25T10:00:00.000Z");

describe("normalizeTelegramUpdate", () => {
  it("turns a text message into a valid v1 queue message", () => {
    const update = textUpdate("Hello there", { chatId: 777, updateId: 5 });
    const result = normalizeTelegramUpdate(address, update, now);
    expect(result.handled).toBe(true);
    if (!result.handled) return;
    expect(result.message).toMatchObject({
      version: 1,
      kind: "inbound.message",
      tenantId: address.tenantId,
      channelId: address.channelId,
      channelKind: "telegram",
      conversationKey: "777",
      providerMessageId: "5",
      text: "Hello there",
      sender: { id: "777", displayName: "Ada Lovelace", username: "ada", languageCode: "en" },
      receivedAt: now.toISOString(),
    });
    expect(inboundMessage.parse(result.message)).toEqual(result.message);
  });

  it("uses a caption when there is no text", () => {
    const update = textUpdate("x");
    delete update.message!.text;
    update.message!.caption = "a photo caption";
    const result = normalizeTelegramUpdate(address, update, now);
    expect(result.handled && result.message.text).toBe("a photo caption");
  });

  it("names the kinds it does not handle yet", () => {
    expect(normalizeTelegramUpdate(address, telegramUpdate.parse({ update_id: 1, edited_message: {} }), now)).toEqual({
      handled: false,
      reason: "update:edited_message",
    });
    const sticker = textUpdate("x");
    delete sticker.message!.text;
    expect(normalizeTelegramUpdate(address, sticker, now)).toEqual({ handled: false, reason: "message:no_text" });
  });

  it("ignores messages sent by bots", () => {
    const update = textUpdate("loop?");
    update.message!.from!.is_bot = true;
    expect(normalizeTelegramUpdate(address, update, now)).toEqual({ handled: false, reason: "message:from_bot" });
  });
});

describe("telegramUpdate schema", () => {
  it("rejects updates without a numeric update_id", () => {
    expect(telegramUpdate.safeParse({ message: {} }).success).toBe(false);
    expect(telegramUpdate.safeParse({ update_id: "1" }).success).toBe(false);
  });

  it("keeps fields it does not know", () => {
    expect(telegramUpdate.parse({ update_id: 3, business_message: { a: 1 } })).toHaveProperty("business_message");
  });
});
