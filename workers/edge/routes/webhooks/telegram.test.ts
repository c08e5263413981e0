import { describe, expect, it } from "vitest";
import { formatChannelAddress } from "../../../../core/channels/address";
import { telegramWebhookSecret } from "../../../../core/channels/telegram/webhook-secret";
import { recordingEdgeServices, testEdgeEnv } from "../../../../test/support/edge";
import { textUpdate } from "../../../../test/support/telegram";
import { newApp } from "../../app";
import { stoppedTenants } from "../../stopped-tenants";

const signingKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(3)));
const env = testEdgeEnv(signingKey);
const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "22222222-2222-4222-8222-222222222222" };
const path = `/webhooks/telegram/${formatChannelAddress(address)}`;

function setup(options: { failQueue?: boolean; bindings?: Record<string, unknown> } = {}) {
  const { enqueued, services } = recordingEdgeServices(options);
  const app = newApp(services);
  const send = async (body: BodyInit, headers: Record<string, string> = {}, url = path) =>
    app.fetch(new Request(`http://edge${url}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } }), {
      ...env,
      ...options.bindings,
    });
  return { enqueued, send };
}

const secretHeader = async () => ({ "x-telegram-bot-api-secret-token": await telegramWebhookSecret(signingKey, address) });

describe("POST /webhooks/telegram/:channelId", () => {
  it("enqueues a valid update and answers 200", async () => {
    const { enqueued, send } = setup();
    const response = await send(JSON.stringify(textUpdate("hello", { updateId: 10, chatId: 55 })), await secretHeader());
    expect(response.status).toBe(200);
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]).toMatchObject({
      tenantId: address.tenantId,
      channelId: address.channelId,
      conversationKey: "55",
      providerMessageId: "10",
    });
  });

  it("answers 410 and enqueues nothing for a tenant stopped for deletion; an unreadable list lets the update through", async () => {
    const stopped = new Map([[address.tenantId, "2027-01-01T00:00:00.000Z"]]);
    const kv = { get: async (key: string) => stopped.get(key) ?? null, put: async () => {}, delete: async () => {} };
    const { enqueued, send } = setup({ bindings: { TENANT_STATUS: kv } });
    const response = await send(JSON.stringify(textUpdate("hello", { updateId: 11 })), await secretHeader());
    expect(response.status).toBe(410);
    expect(await response.json()).toMatchObject({ error: { code: "GONE" } });
    expect(enqueued).toEqual([]);
    // Without the right secret it is still a 401: the 410 tells nothing to a stranger.
    expect((await send(JSON.stringify(textUpdate("hello", { updateId: 12 })), {})).status).toBe(401);

    const broken = { get: async () => Promise.reject(new Error("KV down")), put: async () => {}, delete: async () => {} };
    const through = setup({ bindings: { TENANT_STATUS: broken } });
    expect((await through.send(JSON.stringify(textUpdate("hello", { updateId: 13 })), await secretHeader())).status).toBe(200);
    expect(through.enqueued).toHaveLength(1);
  });

  it("keeps what it read about a stopped tenant for a while, but sees its own isolate's stop at once", async () => {
    const stopped = new Map<string, string>();
    let reads = 0;
    const kv = {
      get: async (key: string) => (reads++, stopped.get(key) ?? null),
      put: async (key: string, value: string) => void stopped.set(key, value),
      delete: async (key: string) => void stopped.delete(key),
    };
    const { enqueued, send } = setup({ bindings: { TENANT_STATUS: kv } });
    expect((await send(JSON.stringify(textUpdate("a", { updateId: 21 })), await secretHeader())).status).toBe(200);
    expect((await send(JSON.stringify(textUpdate("b", { updateId: 22 })), await secretHeader())).status).toBe(200);
    expect(reads).toBe(1);
    // Stopped through this isolate (DELETE /v1/tenant writes the list with stoppedTenants): the next update is refused.
    await stoppedTenants({ ...env, TENANT_STATUS: kv })!.put(address.tenantId, "2027-01-01T00:00:00.000Z");
    expect((await send(JSON.stringify(textUpdate("c", { updateId: 23 })), await secretHeader())).status).toBe(410);
    expect(enqueued).toHaveLength(2);
  });

  it("answers 401 and enqueues nothing for a missing or wrong secret", async () => {
    const { enqueued, send } = setup();
    const body = JSON.stringify(textUpdate("hello"));
    for (const headers of [{}, { "x-telegram-bot-api-secret-token": "wrong" }] as Record<string, string>[]) {
      const response = await send(body, headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: "UNAUTHORIZED" } });
    }
    expect(enqueued).toHaveLength(0);
  });

  it("does not accept one channel's secret for another channel or tenant", async () => {
    const { enqueued, send } = setup();
    const headers = await secretHeader();
    const otherChannel = formatChannelAddress({ ...address, channelId: "33333333-3333-4333-8333-333333333333" });
    const otherTenant = formatChannelAddress({ ...address, tenantId: "33333333-3333-4333-8333-333333333333" });
    for (const target of [otherChannel, otherTenant]) {
      const response = await send(JSON.stringify(textUpdate("hi")), headers, `/webhooks/telegram/${target}`);
      expect(response.status).toBe(401);
    }
    expect(enqueued).toHaveLength(0);
  });

  it("answers 404 for a malformed channel address", async () => {
    const { send } = setup();
    const response = await send("{}", await secretHeader(), "/webhooks/telegram/not-a-channel");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("answers 400 with a code for malformed JSON and for non-updates", async () => {
    const { enqueued, send } = setup();
    const headers = await secretHeader();
    const broken = await send("{not json", headers);
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: { code: "INVALID_JSON" } });
    const wrongShape = await send(JSON.stringify({ update_id: "x" }), headers);
    expect(wrongShape.status).toBe(400);
    const body = (await wrongShape.json()) as { error: { code: string; requestId: string; details: unknown[] } };
    expect(body.error.code).toBe("INVALID_BODY");
    expect(body.error.requestId).toBeTruthy();
    expect(body.error.details.length).toBeGreaterThan(0);
    expect(enqueued).toHaveLength(0);
  });

  it("answers 413 for bodies over 1 MiB", async () => {
    const { enqueued, send } = setup();
    const update = textUpdate("x".repeat(1024 * 1024 + 10));
    const response = await send(JSON.stringify(update), await secretHeader());
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
    expect(enqueued).toHaveLength(0);
  });

  it("acknowledges update kinds it does not handle without enqueueing", async () => {
    const { enqueued, send } = setup();
    const response = await send(JSON.stringify({ update_id: 99, edited_message: { message_id: 1 } }), await secretHeader());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, ignored: "update:edited_message" });
    expect(enqueued).toHaveLength(0);
  });

  it("answers 503 when the queue is down, so Telegram retries", async () => {
    const { send } = setup({ failQueue: true });
    const response = await send(JSON.stringify(textUpdate("hi")), await secretHeader());
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("QUEUE_UNAVAILABLE");
    expect(body.error.message).not.toContain("queue down");
  });
});

describe("environment", () => {
  it("answers BAD_ENVIRONMENT without details when bindings are missing", async () => {
    const app = newApp();
    const response = await app.fetch(new Request("http://edge/healthz"), { WEBHOOK_SIGNING_KEY: "short" });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("BAD_ENVIRONMENT");
    expect(body.error.message).not.toContain("WEBHOOK_SIGNING_KEY");
  });
});
