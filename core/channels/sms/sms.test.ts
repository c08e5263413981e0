import twilio from "twilio";
import { describe, expect, it } from "vitest";
import { smsAdapter } from "./adapter";
import { twilioSignature, verifyTwilioSignature } from "./signature";
import { onTwilioApi } from "./twilio-api";
import { normalizeTwilioMessaging, twilioMessagingWebhook } from "./webhook";

const address = { tenantId: "6f1c1a52-1f7e-4a51-9b7e-0c1d2e3f4a5b", channelId: "0b6a3c2d-4e5f-4a1b-8c9d-0e1f2a3b4c5d" };
const token = "12345678901234567890123456789012";
const account = `AC${"a".repeat(32)}`;
const receivedAt = new Date("2026-12-06T10:00:00Z");

describe("X-Twilio-Signature", () => {
  const url = "https://agents.example.com/webhooks/twilio/sms/x.y?s=sealed-part";
  const params = { Body: "hello there", From: "+14155550100", To: "+15005550006", MessageSid: `SM${"1".repeat(32)}`, NumMedia: "0" };

  it("is the official SDK's signature for the same URL and fields", async () => {
    const ours = await twilioSignature(token, url, Object.entries(params));
    expect(ours).toBe(twilio.getExpectedTwilioSignature(token, url, params));
    expect(twilio.validateRequest(token, ours, url, params)).toBe(true);
  });

  it("fails for another token, another URL, a changed field or a missing header", async () => {
    const signature = await twilioSignature(token, url, Object.entries(params));
    expect(await verifyTwilioSignature(token, url, Object.entries(params), signature)).toBe(true);
    expect(await verifyTwilioSignature("0".repeat(32), url, Object.entries(params), signature)).toBe(false);
    expect(await verifyTwilioSignature(token, url.replace("sealed-part", "other"), Object.entries(params), signature)).toBe(false);
    expect(await verifyTwilioSignature(token, url, Object.entries({ ...params, Body: "hello" }), signature)).toBe(false);
    expect(await verifyTwilioSignature(token, url, Object.entries(params), null)).toBe(false);
  });
});

describe("normalizing Twilio's messaging webhooks", () => {
  const inbound = (fields: Record<string, string>) =>
    twilioMessagingWebhook.parse({
      MessageSid: `SM${"2".repeat(32)}`,
      AccountSid: account,
      From: "+14155550100",
      To: "+15005550006",
      ...fields,
    });

  it("turns an SMS into one message keyed by the sender's number, addressed to the number texted", () => {
    const { messages, ignored } = normalizeTwilioMessaging(
      address,
      inbound({ Body: "where is my order?", NumMedia: "0", SmsStatus: "received" }),
      receivedAt,
    );
    expect(ignored).toEqual([]);
    expect(messages).toEqual([
      expect.objectContaining({
        kind: "inbound.message",
        channelKind: "sms",
        conversationKey: "+14155550100",
        providerMessageId: `SM${"2".repeat(32)}`,
        accountId: "+15005550006",
        text: "where is my order?",
        sender: { id: "+14155550100" },
      }),
    ]);
  });

  it("keeps MMS media as attachments by Twilio's media URL and type", () => {
    const { messages } = normalizeTwilioMessaging(
      address,
      inbound({
        Body: "",
        NumMedia: "2",
        MediaUrl0: "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1",
        MediaContentType0: "image/jpeg",
        MediaUrl1: "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME2",
        MediaContentType1: "application/pdf",
      }),
      receivedAt,
    );
    const [message] = messages;
    expect(message?.kind === "inbound.message" && message.attachments).toEqual([
      { kind: "image", fileId: "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1", mimeType: "image/jpeg" },
      { kind: "document", fileId: "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME2", mimeType: "application/pdf" },
    ]);
  });

  it("records delivered and failed statuses of our replies, and ignores the ones that say nothing yet", () => {
    const status = (MessageStatus: string, extra: Record<string, string> = {}) =>
      normalizeTwilioMessaging(address, inbound({ MessageStatus, To: "+14155550100", From: "+15005550006", ...extra }), receivedAt);
    expect(status("delivered").messages).toEqual([
      expect.objectContaining({
        kind: "delivery.status",
        status: "delivered",
        outboundProviderMessageId: `SM${"2".repeat(32)}`,
        conversationKey: "+14155550100",
      }),
    ]);
    expect(status("undelivered", { ErrorCode: "30003", ErrorMessage: "Unreachable destination handset" }).messages).toEqual([
      expect.objectContaining({ status: "failed", error: "30003 Unreachable destination handset" }),
    ]);
    expect(status("queued")).toEqual({ messages: [], ignored: ["status:queued"] });
  });

  it("leaves out messages from short codes and alphanumeric senders, and empty ones", () => {
    expect(normalizeTwilioMessaging(address, inbound({ Body: "promo", From: "SHOP" }), receivedAt).ignored).toEqual([
      "sender:not_a_phone_number",
    ]);
    expect(normalizeTwilioMessaging(address, inbound({ Body: " ", NumMedia: "0" }), receivedAt).messages).toHaveLength(1);
    expect(normalizeTwilioMessaging(address, inbound({ Body: "", NumMedia: "0" }), receivedAt).ignored).toEqual(["message:empty"]);
  });

  it("refuses a body that is not Twilio's, naming the fields", () => {
    const parsed = twilioMessagingWebhook.safeParse({ MessageSid: "nope", From: "+1", To: "+1" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path[0])).toEqual(expect.arrayContaining(["MessageSid", "AccountSid"]));
  });
});

describe("SMS keywords and media URLs", () => {
  it("knows Twilio's opt-out, opt-in and help words as whole messages in any case, and not YES", () => {
    expect(smsAdapter.keyword?.(" stop ")).toBe("opt_out");
    expect(smsAdapter.keyword?.("Unsubscribe")).toBe("opt_out");
    expect(smsAdapter.keyword?.("START")).toBe("opt_in");
    expect(smsAdapter.keyword?.("help")).toBe("help");
    expect(smsAdapter.keyword?.("yes")).toBeUndefined();
    expect(smsAdapter.keyword?.("please stop sending")).toBeUndefined();
  });

  it("fetches media only on Twilio's API host, moved onto the configured base", () => {
    const media = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";
    expect(onTwilioApi(undefined, media)).toBe(media);
    expect(onTwilioApi("http://127.0.0.1:4010", media)).toBe("http://127.0.0.1:4010/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1");
    expect(onTwilioApi("http://127.0.0.1:4010", "http://169.254.169.254/latest/meta-data")).toBeUndefined();
    expect(onTwilioApi(undefined, "https://api.twilio.com.evil.example/x")).toBeUndefined();
    expect(onTwilioApi(undefined, "not a url")).toBeUndefined();
  });
});
