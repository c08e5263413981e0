import { describe, expect, it } from "vitest";
import { formatChannelAddress } from "../../../../core/channels/address";
import { signWhatsAppBody, whatsappVerifyToken } from "../../../../core/channels/whatsapp/signature";
import { recordingEdgeServices } from "../../../../test/support/edge";
import type { ChannelQueueMessage } from "../../../../core/queue/inbound-message";
import {
  audioMessage,
  buttonReply,
  contact,
  documentMessage,
  imageMessage,
  listReply,
  locationMessage,
  status,
  textMessage,
  waId,
  whatsappPayload,
} from "../../../../test/support/whatsapp";
import { newApp } from "../../app";

const signingKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(5)));
const appSecret = "meta-app-secret-0123456789abcdef";
const env = {
  WEBHOOK_SIGNING_KEY: signingKey,
  WHATSAPP_APP_SECRET: appSecret,
  SQS_ACCESS_KEY_ID: "test",
  SQS_SECRET_ACCESS_KEY: "test",
  INBOUND_QUEUE_URL: "http://127.0.0.1:1/000000000000/inbound.fifo",
  LOG_LEVEL: "error",
};
const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "33333333-3333-4333-8333-333333333333" };
const path = `/webhooks/whatsapp/${formatChannelAddress(address)}`;

function setup(options: { failQueue?: boolean; env?: Record<string, string> } = {}) {
  const recorded = recordingEdgeServices(options);
  const enqueued = recorded.enqueued as ChannelQueueMessage[];
  const app = newApp(recorded.services);
  const post = async (raw: string, signature: string | null | undefined) =>
    app.fetch(
      new Request(`http://edge${path}`, {
        method: "POST",
        body: raw,
        headers: {
          "content-type": "application/json",
          ...(signature === null ? {} : { "x-hub-signature-256": signature ?? (await signWhatsAppBody(appSecret, raw)) }),
        },
      }),
      options.env ?? env,
    );
  const get = (query: string) => app.fetch(new Request(`http://edge${path}?${query}`), options.env ?? env);
  return { enqueued, post, get };
}

describe("GET /webhooks/whatsapp/:channelId (verification handshake)", () => {
  it("echoes the challenge as plain text for the channel's verify token", async () => {
    const { get } = setup();
    const token = await whatsappVerifyToken(signingKey, address);
    const response = await get(`hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe("1158201444");
  });

  it("answers 403 for a wrong token, another channel's token, a wrong mode or no challenge", async () => {
    const { get } = setup();
    const token = await whatsappVerifyToken(signingKey, address);
    const other = await whatsappVerifyToken(signingKey, { ...address, channelId: "44444444-4444-4444-8444-444444444444" });
    for (const query of [
      "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
      `hub.mode=subscribe&hub.verify_token=${other}&hub.challenge=1`,
      `hub.mode=unsubscribe&hub.verify_token=${token}&hub.challenge=1`,
      `hub.mode=subscribe&hub.verify_token=${token}`,
      "hub.mode=subscribe&hub.challenge=1",
    ]) {
      const response = await get(query);
      expect(response.status, query).toBe(403);
      expect(await response.text()).not.toContain("1158201444");
    }
  });
});

describe("POST /webhooks/whatsapp/:channelId", () => {
  const from = waId(1);
  const raw = JSON.stringify(whatsappPayload([{ contacts: [contact(from)], messages: [textMessage(from, "hello")] }]));

  it("queues a signed message", async () => {
    const { post, enqueued } = setup();
    const response = await post(raw, undefined);
    expect(response.status).toBe(200);
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]).toMatchObject({
      kind: "inbound.message",
      channelKind: "whatsapp",
      conversationKey: from,
      text: "hello",
      sender: { id: from, displayName: "Grace Hopper" },
    });
  });

  it("refuses more than 1,000 messages in one payload with 413 before queueing any", async () => {
    const { post, enqueued } = setup();
    const many = Array.from({ length: 1001 }, (_, i) => textMessage(waId(i % 50), `m${i}`));
    const response = await post(JSON.stringify(whatsappPayload([{ messages: many }])), undefined);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
    expect(enqueued).toHaveLength(0);
    const fine = await post(JSON.stringify(whatsappPayload([{ messages: many.slice(0, 1000) }])), undefined);
    expect(fine.status).toBe(200);
    expect(enqueued).toHaveLength(1000);
  });

  it("refuses a sender or contact id that is not a number's digits with 400, queueing nothing", async () => {
    const { post, enqueued } = setup();
    for (const bad of ["+16505550001", "1650555:0001", "../../etc/passwd", "", "1650555000112345678901", "١٦٥٠٥٥٥٠٠٠١"]) {
      const asSender = await post(JSON.stringify(whatsappPayload([{ messages: [textMessage(bad, "hello")] }])), undefined);
      expect(asSender.status, bad).toBe(400);
      expect(await asSender.json()).toMatchObject({ error: { code: "INVALID_BODY" } });
      const asContact = await post(
        JSON.stringify(whatsappPayload([{ contacts: [contact(bad)], messages: [textMessage(from, "hi")] }])),
        undefined,
      );
      expect(asContact.status, bad).toBe(400);
    }
    expect(enqueued).toHaveLength(0);
  });

  it("refuses missing, wrong, sha1=, non-hex and truncated signatures with 401, queueing nothing", async () => {
    const { post, enqueued } = setup();
    const good = await signWhatsAppBody(appSecret, raw);
    const hex = good.slice("sha256=".length);
    for (const signature of [
      null,
      "",
      "sha256=",
      `sha256=${"0".repeat(64)}`,
      `sha1=${hex.slice(0, 40)}`,
      `sha256=${"z".repeat(64)}`,
      `sha256=${hex.slice(0, 63)}`,
      hex,
      await signWhatsAppBody("another-app-secret-xxxxxxxx", raw),
    ]) {
      const response = await post(raw, signature);
      expect(response.status, String(signature)).toBe(401);
    }
    expect(enqueued).toHaveLength(0);
  });

  it("verifies the raw bytes: a re-serialised body with the same meaning does not verify", async () => {
    const { post, enqueued } = setup();
    const spaced = JSON.stringify(JSON.parse(raw), null, 2);
    const response = await post(spaced, await signWhatsAppBody(appSecret, raw));
    expect(response.status).toBe(401);
    // And the signature of the exact bytes received is what counts, whitespace and all.
    expect((await post(spaced, await signWhatsAppBody(appSecret, spaced))).status).toBe(200);
    expect(enqueued).toHaveLength(1);
  });

  it("answers 400 for signed bodies that are not JSON or not a payload, and 503 without an app secret", async () => {
    const { post } = setup();
    expect((await post("{nope", undefined)).status).toBe(400);
    const notPayload = await post(JSON.stringify({ hello: 1 }), undefined);
    expect(notPayload.status).toBe(400);
    expect(await notPayload.json()).toMatchObject({ error: { code: "INVALID_BODY" } });
    const { post: unconfigured } = setup({ env: { ...env, WHATSAPP_APP_SECRET: "" } });
    expect((await unconfigured(raw, undefined)).status).toBe(503);
  });

  it("processes every entry, change, message and status of a batch, in order", async () => {
    const { post, enqueued } = setup();
    const a = waId(2);
    const b = waId(3);
    const batch = whatsappPayload([
      { contacts: [contact(a)], messages: [textMessage(a, "one"), buttonReply(a, "yes", "Yes"), imageMessage(a, "media-1", "my receipt")] },
      {
        contacts: [contact(b, "Alan")],
        messages: [
          documentMessage(b, "media-2", "invoice.pdf", "the invoice"),
          audioMessage(b, "media-3"),
          locationMessage(b),
          listReply(b, "row-2", "Tuesday"),
          { from: b, id: "wamid.r", timestamp: "1", type: "reaction", reaction: { emoji: "👍", message_id: "x" } },
        ],
        statuses: [status("wamid.out1", b, "delivered")],
      },
    ]);
    const response = await post(JSON.stringify(batch), undefined);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ queued: 8, ignored: 1 });
    expect(enqueued.map((m) => (m.kind === "inbound.message" ? m.text : m.kind))).toEqual([
      "one",
      "Yes",
      "my receipt",
      "the invoice",
      "",
      "",
      "Tuesday",
      "delivery.status",
    ]);
    expect(enqueued[1]).toMatchObject({ choice: { id: "yes", title: "Yes" } });
    expect(enqueued[2]).toMatchObject({ attachments: [{ kind: "image", fileId: "media-1", mimeType: "image/jpeg" }] });
    expect(enqueued[3]).toMatchObject({ attachments: [{ kind: "document", fileId: "media-2", fileName: "invoice.pdf" }] });
    expect(enqueued[5]).toMatchObject({ attachments: [{ kind: "location", latitude: 51.5074, name: "Trafalgar Square" }] });
    // Each carries the phone number id it was addressed to, for the pool to check against the channel.
    expect(enqueued.every((m) => m.accountId === "106540352242922")).toBe(true);
  });

  it("turns a statuses-only payload into delivery statuses (no inbound message)", async () => {
    const { post, enqueued } = setup();
    const to = waId(4);
    const payload = whatsappPayload([
      {
        statuses: [
          status("wamid.x", to, "sent"),
          status("wamid.x", to, "read"),
          status("wamid.y", to, "failed", [{ code: 131026, title: "Message undeliverable" }]),
        ],
      },
    ]);
    expect((await post(JSON.stringify(payload), undefined)).status).toBe(200);
    expect(enqueued.every((m) => m.kind === "delivery.status")).toBe(true);
    expect(enqueued).toHaveLength(3);
    expect(enqueued[2]).toMatchObject({ status: "failed", outboundProviderMessageId: "wamid.y", error: "131026 Message undeliverable" });
    expect(new Set(enqueued.map((m) => m.providerMessageId)).size).toBe(3);
  });

  it("answers 503 when the queue is down, so Meta retries", async () => {
    const { post } = setup({ failQueue: true });
    expect((await post(raw, undefined)).status).toBe(503);
  });
});
