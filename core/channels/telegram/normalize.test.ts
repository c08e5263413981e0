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
      sequence: 5,
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

describe("normalizeTelegramUpdate: complete", () => {
  it("carries photos (largest size) and documents as attachments with the caption as text", () => {
    const photo = textUpdate("x");
    delete photo.message!.text;
    photo.message!.caption = "look";
    photo.message!.photo = [
      { file_id: "small", file_unique_id: "s", width: 90, height: 90, file_size: 100 },
      { file_id: "large", file_unique_id: "l", width: 1280, height: 1280, file_size: 90000 },
    ];
    const result = normalizeTelegramUpdate(address, photo, now);
    expect(result.handled && result.message).toMatchObject({
      text: "look",
      attachments: [{ kind: "image", fileId: "large", fileSize: 90000 }],
    });

    const doc = textUpdate("x");
    delete doc.message!.text;
    doc.message!.document = { file_id: "doc1", file_name: "invoice.pdf", mime_type: "application/pdf", file_size: 2048 };
    const docResult = normalizeTelegramUpdate(address, doc, now);
    expect(docResult.handled && docResult.message).toMatchObject({
      text: "",
      attachments: [{ kind: "document", fileId: "doc1", fileName: "invoice.pdf" }],
    });
  });

  it("marks group messages with their mentions and the replied-to author", () => {
    const update = textUpdate("@shop_bot hello /help@Shop_Bot");
    update.message!.chat = { id: -100200, type: "supergroup", title: "Shoppers" };
    update.message!.entities = [
      { type: "mention", offset: 0, length: 9 },
      { type: "bot_command", offset: 16, length: 14 },
    ];
    update.message!.reply_to_message = { message_id: 3, from: { id: 999, is_bot: true, first_name: "Shop" } };
    const result = normalizeTelegramUpdate(address, update, now);
    expect(result.handled && result.message.chat).toEqual({ type: "supergroup", mentions: ["shop_bot"], replyToSenderId: "999" });
    expect(result.handled && result.message.conversationKey).toBe("-100200");
  });

  it("acknowledges edited messages without answering them", () => {
    const edited = telegramUpdate.parse({ update_id: 9, edited_message: textUpdate("fixed typo").message });
    expect(normalizeTelegramUpdate(address, edited, now)).toEqual({ handled: false, reason: "update:edited_message" });
  });
});
