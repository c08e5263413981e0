import { describe, expect, it } from "vitest";
import { formatChannelAddress } from "../../../../core/channels/address";
import { sealWebhookSecret } from "../../../../core/channels/credentials";
import { twilioSignature } from "../../../../core/channels/sms/signature";
import { relayToken } from "../../../../core/channels/voice/relay";
import { parseKeyring } from "../../../../core/crypto/secrets";
import type { ChannelQueueMessage } from "../../../../core/queue/inbound-message";
import { recordingEdgeServices, testEdgeEnv } from "../../../../test/support/edge";
import { newApp } from "../../app";

const signingKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(6)));
const keyringSpec = `k1:${btoa(String.fromCharCode(...new Uint8Array(32).fill(8)))}`;
const env = testEdgeEnv(signingKey, { SECRETS_KEYRING: keyringSpec, PUBLIC_BASE_URL: "https://agents.example.com" });
const authToken = "0123456789abcdef0123456789abcdef";
const accountSid = `AC${"a".repeat(32)}`;
const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "44444444-4444-4444-8444-444444444444" };

/** A webhook URL as connecting the channel makes it: the auth token sealed into `s`. */
async function webhookUrl(kind: "sms" | "voice", query: Record<string, string> = {}) {
  const seal = await sealWebhookSecret(parseKeyring(keyringSpec), kind, address, authToken);
  return `https://agents.example.com/webhooks/twilio/${kind}/${formatChannelAddress(address)}?${new URLSearchParams({ s: seal, ...query }).toString()}`;
}

function setup(options: { failQueue?: boolean } = {}) {
  const recorded = recordingEdgeServices(options);
  const app = newApp(recorded.services);
  // Twilio calls the public URL; the request reaches the edge on its own host, as behind a custom domain.
  const post = async (url: string, fields: Record<string, string>, signature?: string | null) =>
    app.fetch(
      new Request(url.replace("https://agents.example.com", "http://edge"), {
        method: "POST",
        body: new URLSearchParams(fields).toString(),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          ...(signature === null
            ? {}
            : { "x-twilio-signature": signature ?? (await twilioSignature(authToken, url, Object.entries(fields))) }),
        },
      }),
      env,
    );
  return { enqueued: recorded.enqueued as ChannelQueueMessage[], post };
}

const sms = (fields: Record<string, string> = {}) => ({
  MessageSid: `SM${"1".repeat(32)}`,
  AccountSid: accountSid,
  From: "+14155550100",
  To: "+15005550006",
  Body: "hello",
  NumMedia: "0",
  SmsStatus: "received",
  ...fields,
});

describe("POST /webhooks/twilio/sms/:channelId", () => {
  it("checks the signature over the public URL and the fields, queues the message and answers empty TwiML", async () => {
    const { enqueued, post } = setup();
    const response = await post(await webhookUrl("sms"), sms());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/xml/);
    expect(await response.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    expect(enqueued).toEqual([
      expect.objectContaining({
        kind: "inbound.message",
        channelKind: "sms",
        conversationKey: "+14155550100",
        text: "hello",
        accountId: "+15005550006",
      }),
    ]);
  });

  it("answers 403 and queues nothing for a missing or wrong signature, or a seal of another channel", async () => {
    const { enqueued, post } = setup();
    const url = await webhookUrl("sms");
    expect((await post(url, sms(), null)).status).toBe(403);
    expect((await post(url, sms(), await twilioSignature("f".repeat(32), url, Object.entries(sms())))).status).toBe(403);
    const voiceSeal = await webhookUrl("voice");
    const asSms = voiceSeal.replace("/twilio/voice/", "/twilio/sms/");
    expect((await post(asSms, sms(), await twilioSignature(authToken, asSms, Object.entries(sms())))).status).toBe(403);
    expect(enqueued).toEqual([]);
  });

  it("answers 400 naming the fields for a form that is not Twilio's, and 503 when the queue is down", async () => {
    const bad = setup();
    const url = await webhookUrl("sms");
    const invalid = await bad.post(url, { MessageSid: "x", From: "+1" });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { code: "INVALID_BODY" } });
    const down = setup({ failQueue: true });
    expect((await down.post(url, sms())).status).toBe(503);
  });
});

describe("POST /webhooks/twilio/voice/:channelId", () => {
  it("connects a signed call to the relay on this edge's public host, with the call's token", async () => {
    const { enqueued, post } = setup();
    const callSid = `CA${"2".repeat(32)}`;
    const response = await post(await webhookUrl("voice"), {
      CallSid: callSid,
      AccountSid: accountSid,
      From: "+14155550100",
      To: "+15005550006",
    });
    expect(response.status).toBe(200);
    const twiml = await response.text();
    expect(twiml).toContain(
      `<ConversationRelay url="wss://agents.example.com/voice/relay/${formatChannelAddress(address)}/${callSid}?t=${await relayToken(signingKey, address, callSid)}"`,
    );
    expect(enqueued).toEqual([]);
  });

  it("queues what <Gather> heard as the caller's message, with where its reply is kept", async () => {
    const { enqueued, post } = setup();
    const callSid = `CA${"3".repeat(32)}`;
    const url = await webhookUrl("voice", { v: JSON.stringify({ gather: true }), step: "heard", n: "2" });
    const response = await post(url, {
      CallSid: callSid,
      AccountSid: accountSid,
      From: "+14155550100",
      To: "+15005550006",
      SpeechResult: "opening hours",
    });
    expect(await response.text()).toContain(
      `<Redirect method="POST">https://agents.example.com/voice/gather/${formatChannelAddress(address)}/${callSid}/wait?`,
    );
    expect(enqueued).toEqual([
      expect.objectContaining({
        channelKind: "voice",
        providerMessageId: `${callSid}:2`,
        text: "opening hours",
        replyUrl: expect.stringMatching(new RegExp(`^https://agents\\.example\\.com/voice/relay/.+/${callSid}/reply\\?t=.+&g=1$`)),
      }),
    ]);
  });
});
