import { readdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { and, eq } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { telegramWebhookSecret } from "../../core/channels/telegram/webhook-secret";
import { signWhatsAppBody } from "../../core/channels/whatsapp/signature";
import { OFFLINE_LABEL } from "../../core/engine/offline-model";
import { createPoolDb, type DbHandle } from "../../db/client";
import { channels, conversations, messages, usageRecords } from "../../db/schema";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { startFakeWhatsApp, type FakeWhatsApp } from "../fakes/whatsapp";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { launchBrowser } from "../support/browser";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { textUpdate } from "../support/telegram";
import { contact, status, textMessage, whatsappPayload } from "../support/whatsapp";
import type pg from "pg";

/**
 * Channels on the real stack (edge under workerd, SQS emulator, a pool process, the Telegram and
 * WhatsApp fakes): the channel API, webhooks into replies, and the web chat widget driven in
 * headless Chromium.
 */
const APP_SECRET = "e2e-meta-app-secret-0123456789";
const WA_TOKEN = "EAAG-e2e-whatsapp-access-token";
const BOT_TOKEN = "424242424:e2e-channel-bot-token";

let database: TestDatabase;
let whatsapp: FakeWhatsApp;
let stack: LocalStack;
let admin: DbHandle<pg.Pool>;
let tenant: AccessTenant;
const responses: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  whatsapp = await startFakeWhatsApp({ accessToken: WA_TOKEN });
  stack = await startLocalStack({
    database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
    withChroma: false,
    output: "quiet",
    edgeVars: { WHATSAPP_APP_SECRET: APP_SECRET, WHATSAPP_API_BASE: whatsapp.apiBase, LOG_LEVEL: "warn" },
    poolEnv: { WHATSAPP_API_BASE: whatsapp.apiBase, LOG_LEVEL: "warn", POOL_WAIT_TIME_SECONDS: "1" },
  });
  admin = createPoolDb(database.adminUrl, { max: 2 });
  tenant = await createAccessTenant(admin.db);
});

afterAll(async () => {
  await admin?.close();
  await stack?.stop();
  await whatsapp?.close();
  await database?.close();
  // Nothing secret ever came back from the API.
  for (const text of responses) for (const secret of [BOT_TOKEN, WA_TOKEN, APP_SECRET]) expect(text).not.toContain(secret);
});

async function api(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const response = await fetch(`${stack.edge.url}${path}`, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${init.token ?? tenant.apiKeys.admin.key}`,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  responses.push(text);
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown> & { error?: { code: string } }) : {} };
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("channel management API", () => {
  it("connects a Telegram channel: checks the token, sets the webhook with the derived secret, seals the token", async () => {
    const created = await api("/v1/channels", {
      method: "POST",
      body: { kind: "telegram", name: "Shop bot", agentId: tenant.agentId, botToken: BOT_TOKEN },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const channel = created.body as {
      id: string;
      address: string;
      webhookUrl: string;
      hasCredentials: boolean;
      settings: Record<string, unknown>;
    };
    expect(channel).toMatchObject({ hasCredentials: true, settings: { botId: 424242424, botUsername: "fake_bot" } });
    const setWebhook = stack.telegram!.calls.filter((c) => c.method === "setWebhook" && c.token === BOT_TOKEN).at(-1)!;
    const [tenantId, channelId] = channel.address.split(".") as [string, string];
    expect(setWebhook.params).toMatchObject({
      url: `${stack.edge.url}/webhooks/telegram/${channel.address}`,
      secret_token: await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, { tenantId, channelId }),
      allowed_updates: ["message", "edited_message"],
    });
    const [row] = await admin.db.select().from(channels).where(eq(channels.id, channel.id));
    expect(row!.credentials).toMatch(/^v1\./);
    expect(row!.credentials).not.toContain(BOT_TOKEN);

    // The registered webhook works end to end: the pool answers through the fake.
    const secret = String(setWebhook.params.secret_token);
    const post = await fetch(channel.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body: JSON.stringify(textUpdate("hello shop", { chatId: 8101 })),
    });
    expect(post.status).toBe(200);
    const [reply] = await stack.telegram!.waitForSent(8101, 1);
    expect(reply!.text).toContain(OFFLINE_LABEL);

    const listed = await api("/v1/channels");
    expect((listed.body.data as Array<{ id: string }>).map((c) => c.id)).toContain(channel.id);
    const tested = await api(`/v1/channels/${channel.id}/test`, { method: "POST" });
    expect(tested.body).toMatchObject({ ok: true });

    const updated = await api(`/v1/channels/${channel.id}`, {
      method: "PATCH",
      body: { name: "Shop", settings: { welcomeMessage: "Hi, shop here" } },
    });
    expect(updated.body).toMatchObject({ name: "Shop", settings: { welcomeMessage: "Hi, shop here", botUsername: "fake_bot" } });

    // Paused: stored, not answered; resumed: answered again.
    expect((await api(`/v1/channels/${channel.id}/pause`, { method: "POST" })).body).toMatchObject({ status: "paused" });
    await fetch(channel.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body: JSON.stringify(textUpdate("anyone?", { chatId: 8102 })),
    });
    await waitFor(
      async () =>
        (
          await admin.db
            .select()
            .from(messages)
            .where(and(eq(messages.channelId, channel.id), eq(messages.content, "anyone?")))
        ).length === 1,
      "the paused message stored",
    );
    expect((await api(`/v1/channels/${channel.id}/resume`, { method: "POST" })).body).toMatchObject({ status: "active" });
    await fetch(channel.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body: JSON.stringify(textUpdate("/start", { chatId: 8102 })),
    });
    const [welcome] = await stack.telegram!.waitForSent(8102, 1);
    expect(welcome!.text).toBe("Hi, shop here");

    const removed = await api(`/v1/channels/${channel.id}`, { method: "DELETE" });
    expect(removed.body).toEqual({ webhookRemoved: true });
    expect(stack.telegram!.calls.some((c) => c.method === "deleteWebhook" && c.token === BOT_TOKEN)).toBe(true);
    expect((await api(`/v1/channels/${channel.id}`)).status).toBe(404);

    const audit = await api(`/v1/audit-log?resourceId=${channel.id}`);
    expect((audit.body.data as Array<{ action: string }>).map((e) => e.action).sort()).toEqual(
      ["channel.connect", "channel.pause", "channel.remove", "channel.resume", "channel.update"].sort(),
    );
  });

  it("merges rapid messages into one turn through the real queue and pool", async () => {
    const created = await api("/v1/channels", {
      method: "POST",
      body: {
        kind: "telegram",
        name: "Chatty",
        agentId: tenant.agentId,
        botToken: "434343434:e2e-merge-bot-token",
        settings: { mergeWindowMs: 4000 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const channel = created.body as { address: string; webhookUrl: string };
    const [tenantId, channelId] = channel.address.split(".") as [string, string];
    const headers = {
      "content-type": "application/json",
      "x-telegram-bot-api-secret-token": await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, { tenantId, channelId }),
    };
    for (const text of ["hi", "I need help", "with my order"]) {
      expect(
        (await fetch(channel.webhookUrl, { method: "POST", headers, body: JSON.stringify(textUpdate(text, { chatId: 8201 })) })).status,
      ).toBe(200);
    }
    const [merged] = await stack.telegram!.waitForSent(8201, 1);
    expect(merged!.text).toContain('You said: "with my order"');
    expect(merged!.text).toContain("2 earlier messages");
    // The next message, after the window, gets its own reply: two in all, never one per message.
    await fetch(channel.webhookUrl, { method: "POST", headers, body: JSON.stringify(textUpdate("thanks", { chatId: 8201 })) });
    const replies = await stack.telegram!.waitForSent(8201, 2);
    expect(replies.map((r) => /You said: "([^"]+)"/.exec(r.text)?.[1])).toEqual(["with my order", "thanks"]);
  });

  it("finds a handed-off chat in the inbox and answers it as a person through the queue and pool", async () => {
    const created = await api("/v1/channels", {
      method: "POST",
      body: { kind: "telegram", name: "Desk", agentId: tenant.agentId, botToken: "454545454:e2e-handoff-bot-token" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const channel = created.body as { id: string; address: string; webhookUrl: string };
    const [tenantId, channelId] = channel.address.split(".") as [string, string];
    const headers = {
      "content-type": "application/json",
      "x-telegram-bot-api-secret-token": await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, { tenantId, channelId }),
    };
    await fetch(channel.webhookUrl, { method: "POST", headers, body: JSON.stringify(textUpdate("/human", { chatId: 8301 })) });
    await stack.telegram!.waitForSent(8301, 1);

    let waiting: Array<{ id: string; channelId: string; externalKey: string; lastMessage: { direction: string } | null }> = [];
    await waitFor(async () => {
      waiting = (await api(`/v1/conversations?status=handed_off&channelId=${channel.id}`)).body.data as typeof waiting;
      return waiting.length === 1 && waiting[0]!.lastMessage?.direction === "outbound";
    }, "the handed-off conversation in the inbox");
    expect(waiting[0]).toMatchObject({ channelId: channel.id, externalKey: "8301" });

    const sent = await api(`/v1/conversations/${waiting[0]!.id}/messages`, {
      method: "POST",
      body: { text: "Hello, Ana from the shop here." },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body).toMatchObject({ status: "pending", content: "Hello, Ana from the shop here." });
    const [, human] = await stack.telegram!.waitForSent(8301, 2);
    expect(human!.text).toBe("Hello, Ana from the shop here.");
    await waitFor(async () => {
      const page = (await api(`/v1/conversations/${waiting[0]!.id}/messages`)).body.data as Array<{ id: string; status: string }>;
      return page.find((m) => m.id === sent.body.id)?.status === "sent";
    }, "the operator message marked sent");

    // Bad input, other tenants and viewers are refused with stable codes.
    expect((await api(`/v1/conversations/${waiting[0]!.id}/messages`, { method: "POST", body: { text: "" } })).body.error?.code).toBe(
      "INVALID_BODY",
    );
    expect((await api(`/v1/conversations/${crypto.randomUUID()}/messages`, { method: "POST", body: { text: "hi" } })).status).toBe(404);
    expect(
      (
        await api(`/v1/conversations/${waiting[0]!.id}/messages`, {
          method: "POST",
          body: { text: "hi" },
          token: tenant.apiKeys.viewer.key,
        })
      ).status,
    ).toBe(403);
    expect((await api(`/v1/conversations/${waiting[0]!.id}/release`, { method: "POST" })).body).toMatchObject({ status: "open" });
  });

  it("refuses bad input with stable codes", async () => {
    const refused = await api("/v1/channels", {
      method: "POST",
      body: { kind: "telegram", name: "x", agentId: tenant.agentId, botToken: "1:short" },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe("INVALID_BODY");
    const unknown = await api("/v1/channels", {
      method: "POST",
      body: { kind: "telegram", name: "x", agentId: tenant.agentId, botToken: "12345:Token-the-fake-refuses!" },
    });
    expect(unknown.status).toBe(400);
    const noAgent = await api("/v1/channels", {
      method: "POST",
      body: {
        kind: "webchat",
        name: "x",
        agentId: "00000000-0000-4000-8000-000000000000",
        settings: { allowedOrigins: ["https://a.example"] },
      },
    });
    expect(noAgent.status).toBe(404);
    const badOrigin = await api("/v1/channels", {
      method: "POST",
      body: { kind: "webchat", name: "x", agentId: tenant.agentId, settings: { allowedOrigins: ["https://a.example/path"] } },
    });
    expect(badOrigin.status).toBe(400);
    const wrongToken = await api("/v1/channels", {
      method: "POST",
      body: {
        kind: "whatsapp",
        name: "x",
        agentId: tenant.agentId,
        accessToken: "EAAG-not-the-right-token-at-all",
        settings: { phoneNumberId: "106540352242922" },
      },
    });
    expect(wrongToken.status).toBe(422);
    expect(wrongToken.body).toMatchObject({ error: { code: "INVALID_REQUEST", details: { reason: "CHANNEL_PROVIDER_REFUSED" } } });
    const viewer = await api("/v1/channels", { method: "POST", token: tenant.apiKeys.viewer.key, body: {} });
    expect(viewer.status).toBe(403);
  });

  it("lists a WhatsApp channel's templates from its Business Account and refuses a template that does not match", async () => {
    whatsapp.addTemplate({
      name: "order_update",
      language: "en_US",
      components: [
        { type: "BODY", text: "Hi {{1}}, about your order: {{2}}" },
        { type: "BUTTONS", buttons: [{ type: "QUICK_REPLY", text: "Thanks" }] },
      ],
    });
    const settings = { phoneNumberId: "106540352242922", businessAccountId: "102290129340398" };
    const created = await api("/v1/channels", {
      method: "POST",
      body: { kind: "whatsapp", name: "Templates", agentId: tenant.agentId, accessToken: WA_TOKEN, settings },
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    const listed = await api(`/v1/channels/${id}/templates`);
    expect(listed.status).toBe(200);
    expect((listed.body as { data: unknown[] }).data).toContainEqual({
      name: "order_update",
      language: "en_US",
      status: "APPROVED",
      category: "UTILITY",
      header: null,
      bodyVariables: 2,
      buttons: [{ index: 0, type: "quick_reply" }],
    });
    const mismatched = await api(`/v1/channels/${id}`, {
      method: "PATCH",
      body: { settings: { ...settings, template: { name: "order_update", language: "en_US", body: ["{{name}}"] } } },
    });
    expect(mismatched.status).toBe(422);
    expect(mismatched.body).toMatchObject({
      error: {
        details: {
          reason: "CHANNEL_PROVIDER_REFUSED",
          issues: { provider: "template order_update (en_US) has 2 body variable(s); 1 configured" },
        },
      },
    });
    const matched = await api(`/v1/channels/${id}`, {
      method: "PATCH",
      body: { settings: { ...settings, template: { name: "order_update", language: "en_US", body: ["{{name}}", "{{reply}}"] } } },
    });
    expect(matched.status).toBe(200);
    const webchat = await api("/v1/channels", {
      method: "POST",
      body: { kind: "webchat", name: "No templates", agentId: tenant.agentId, settings: { allowedOrigins: ["https://a.example"] } },
    });
    const none = await api(`/v1/channels/${(webchat.body as { id: string }).id}/templates`);
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ error: { details: { reason: "TEMPLATES_UNSUPPORTED" } } });
  });
});

describe("WhatsApp through the edge", () => {
  let channel: { id: string; webhookUrl: string; verifyToken: string };

  beforeAll(async () => {
    const created = await api("/v1/channels", {
      method: "POST",
      body: {
        kind: "whatsapp",
        name: "WhatsApp",
        agentId: tenant.agentId,
        accessToken: WA_TOKEN,
        settings: { phoneNumberId: "106540352242922" },
      },
    });
    expect(created.status).toBe(201);
    channel = created.body as typeof channel;
  });

  const post = async (payload: unknown, signature?: string) => {
    const raw = JSON.stringify(payload);
    return fetch(channel.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": signature ?? (await signWhatsAppBody(APP_SECRET, raw)) },
      body: raw,
    });
  };

  it("completes the verification handshake only with the channel's token", async () => {
    const ok = await fetch(
      `${channel.webhookUrl}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(channel.verifyToken)}&hub.challenge=8675309`,
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("8675309");
    expect((await fetch(`${channel.webhookUrl}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=8675309`)).status).toBe(403);
  });

  it("answers one message delivered twice, concurrently, once; and a bad signature not at all", async () => {
    const from = "16505559001";
    const message = textMessage(from, "do you deliver?");
    const payload = whatsappPayload([{ contacts: [contact(from)], messages: [message] }]);
    expect((await post(payload, "sha256=" + "0".repeat(64))).status).toBe(401);
    const answers = await Promise.all([post(payload), post(payload), post(payload)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await whatsapp.waitForSent(from, 1);
    // Give a duplicate every chance to show up: a later message in the same conversation is answered after it.
    await post(whatsappPayload([{ contacts: [contact(from)], messages: [textMessage(from, "thanks")] }]));
    await whatsapp.waitForSent(from, 2);
    expect(whatsapp.sent(from).map((m) => (m.body.text as { body: string }).body.includes("do you deliver?"))).toEqual([true, false]);
    expect(whatsapp.reads()).toContain(message.id);
  });

  it("records statuses-only payloads on the reply without a turn", async () => {
    const from = "16505559001";
    const [first] = whatsapp.sent(from);
    const usage = async () => (await admin.db.select().from(usageRecords).where(eq(usageRecords.tenantId, tenant.tenantId))).length;
    const before = await usage();
    expect(
      (await post(whatsappPayload([{ statuses: [status(first!.id, from, "delivered"), status(first!.id, from, "read")] }]))).status,
    ).toBe(200);
    await waitFor(
      async () => (await admin.db.select().from(messages).where(eq(messages.providerMessageId, first!.id)))[0]?.deliveryStatus === "read",
      "the read status",
    );
    expect(await usage()).toBe(before);

    // A failed delivery becomes the channel's last error, shown by the channel API (and the console).
    expect((await api(`/v1/channels/${channel.id}`)).body).toMatchObject({ lastError: null });
    const [, second] = whatsapp.sent(from);
    await post(whatsappPayload([{ statuses: [status(second!.id, from, "failed", [{ code: 131026, title: "Message undeliverable" }])] }]));
    await waitFor(
      async () =>
        (await admin.db.select().from(messages).where(eq(messages.providerMessageId, second!.id)))[0]?.deliveryStatus === "failed",
      "the failed status",
    );
    const { body } = await api(`/v1/channels/${channel.id}`);
    expect(body.lastError).toMatchObject({ message: "delivery failed: 131026 Message undeliverable", conversationId: expect.any(String) });
    const listed = (await api("/v1/channels")).body.data as Array<{ id: string; lastError: unknown }>;
    expect(listed.find((c) => c.id === channel.id)?.lastError).toEqual(body.lastError);
  });
});

describe("web chat widget in headless Chromium", () => {
  let browser: Browser;
  let host: Server;
  let hostOrigin: string;
  let address: string;

  beforeAll(async () => {
    host = createServer((request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(
        `<!doctype html><html><head><title>Shop</title></head><body><h1>Our shop</h1>
         <script src="${stack.edge.url}/webchat/widget.js" data-channel="${address}" data-title="Ask us" async></script></body></html>`,
      );
    });
    await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", resolve));
    hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    const created = await api("/v1/channels", {
      method: "POST",
      body: {
        kind: "webchat",
        name: "Site chat",
        agentId: tenant.agentId,
        settings: { allowedOrigins: [hostOrigin], welcomeMessage: "Hello from the shop!", messagesPerMinute: 5 },
      },
    });
    expect(created.status).toBe(201);
    address = (created.body as { address: string }).address;
    expect((created.body as { embedSnippet: string }).embedSnippet).toContain(`data-channel="${address}"`);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    host?.closeAllConnections();
    await new Promise((resolve) => host?.close(resolve));
  });

  it("serves a small, dependency-free script", async () => {
    const response = await fetch(`${stack.edge.url}/webchat/widget.js`);
    expect(response.headers.get("content-type")).toMatch(/javascript/);
    const script = await response.text();
    expect(script.length).toBeLessThan(8 * 1024);
    expect(script).not.toMatch(/\bimport\b|\brequire\(/);
  });

  it("opens a session, sends a message through the queue and the pool, and shows the reply", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(hostOrigin);
      await page.locator("[data-testid=launcher]").click();
      await page.locator("[data-role=agent]", { hasText: "Hello from the shop!" }).waitFor({ timeout: 15_000 });
      await page.locator("[data-testid=input]").fill("Do you ship to Lisbon?");
      await page.locator("[data-testid=send]").click();
      const reply = page.locator("[data-role=agent]", { hasText: "Do you ship to Lisbon?" });
      await reply.waitFor({ timeout: 30_000 });
      expect(await reply.textContent()).toContain(OFFLINE_LABEL);
      // A second exchange reads on from the first reply's cursor.
      await page.locator("[data-testid=input]").fill("And to Porto?");
      await page.locator("[data-testid=send]").click();
      await page.locator("[data-role=agent]", { hasText: "And to Porto?" }).waitFor({ timeout: 30_000 });
      expect(await page.locator("[data-role=visitor]").allTextContents()).toEqual(["Do you ship to Lisbon?", "And to Porto?"]);
      expect(await page.locator("[data-role=agent]").count()).toBe(3);
    } finally {
      await page.close();
    }
  });

  it("receives replies as server-sent events, token by token as they are written, polling only to catch up when the stream opens", async () => {
    const page = await browser.newPage();
    // What the widget's stream carries, seen from the page: every token and reply event, in order.
    await page.addInitScript({
      content: `(() => {
        const Native = window.EventSource;
        window.seenEvents = [];
        window.EventSource = class extends Native {
          constructor(url, init) {
            super(url, init);
            this.addEventListener("open", () => window.seenEvents.push({ type: "open" }));
            for (const type of ["token", "reply"]) this.addEventListener(type, (event) => window.seenEvents.push({ type, data: JSON.parse(event.data) }));
          }
        };
      })();`,
    });
    const reads: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes(`/webchat/${address}/`) && request.method() === "GET")
        reads.push(new URL(request.url()).pathname.split("/").pop()!);
    });
    try {
      await page.goto(hostOrigin);
      await page.locator("[data-testid=launcher]").click();
      await page.locator("[data-role=agent]", { hasText: "Hello from the shop!" }).waitFor({ timeout: 15_000 });
      // Tokens go to a stream that is listening: a message sent before it opens gets its reply when it does.
      await expect.poll(() => page.evaluate("window.seenEvents.some((event) => event.type === 'open')"), { timeout: 15_000 }).toBe(true);
      for (const question of ["Is it streamed?", "Still streamed?"]) {
        await page.locator("[data-testid=input]").fill(question);
        await page.locator("[data-testid=send]").click();
        // The whole reply in place of its tokens (a bubble still streaming carries `data-streaming`).
        await page.locator("[data-role=agent]:not([data-streaming])", { hasText: question }).waitFor({ timeout: 30_000 });
      }
      // One stream; the list read when the panel opened and when the stream opened, and never on a timer.
      expect(reads.filter((read) => read === "stream")).toHaveLength(1);
      expect(reads.filter((read) => read === "messages").length).toBeLessThanOrEqual(2);
      expect(await page.locator("[data-role=agent]").count()).toBe(3);
      // Each reply came first as its tokens, then whole in their place: no bubble is left streaming.
      const events = (await page.evaluate("window.seenEvents")) as Array<{ type: string; data: { turn?: string; text: string } }>;
      const replies = events.filter((event) => event.type === "reply");
      expect(replies).toHaveLength(2);
      for (const reply of replies) {
        const tokens = events.filter((event) => event.type === "token" && event.data.turn === reply.data.turn);
        expect(tokens.length).toBeGreaterThan(0);
        expect(events.indexOf(tokens.at(-1)!)).toBeLessThan(events.indexOf(reply));
        expect(tokens.map((token) => token.data.text).join("")).toBe(reply.data.text);
      }
      expect(await page.locator("[data-streaming]").count()).toBe(0);
    } finally {
      await page.close();
    }
  });

  it("falls back to polling when the stream is unavailable, and still shows every reply once", async () => {
    const page = await browser.newPage();
    const reads: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes(`/webchat/${address}/messages`) && request.method() === "GET") reads.push(request.url());
    });
    await page.route("**/stream?**", (route) => route.fulfill({ status: 503, contentType: "application/json", body: "{}" }));
    try {
      await page.goto(hostOrigin);
      await page.locator("[data-testid=launcher]").click();
      await page.locator("[data-testid=input]").fill("Polling then?");
      await page.locator("[data-testid=send]").click();
      await page.locator("[data-role=agent]", { hasText: "Polling then?" }).waitFor({ timeout: 30_000 });
      // It keeps polling (the first read may already have carried the reply on a slow machine).
      await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      expect(await page.locator("[data-role=agent]", { hasText: "Polling then?" }).count()).toBe(1);
    } finally {
      await page.close();
    }
  });

  it("refuses a stream without the session, and a push without the session's token", async () => {
    const stream = await fetch(`${stack.edge.url}/webchat/${address}/stream?token=forged`, { headers: { origin: hostOrigin } });
    expect(stream.status).toBe(401);
    const push = await fetch(`${stack.edge.url}/webchat/${address}/sessions/${crypto.randomUUID()}/push?t=forged`, {
      method: "POST",
      body: JSON.stringify({ id: "x", text: "injected", at: new Date().toISOString() }),
    });
    expect(push.status).toBe(403);
  });

  it("refuses other origins, forged sessions, and too many messages", async () => {
    const sessions = `${stack.edge.url}/webchat/${address}/sessions`;
    expect((await fetch(sessions, { method: "POST", headers: { origin: "https://evil.example" } })).status).toBe(403);
    expect((await fetch(sessions, { method: "POST" })).status).toBe(403);
    const opened = await fetch(sessions, { method: "POST", headers: { origin: hostOrigin } });
    expect(opened.status).toBe(201);
    expect(opened.headers.get("access-control-allow-origin")).toBe(hostOrigin);
    const { token } = (await opened.json()) as { token: string };
    const send = (text: string, headers: Record<string, string> = {}) =>
      fetch(`${stack.edge.url}/webchat/${address}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, origin: hostOrigin, ...headers },
        body: JSON.stringify({ text, clientMessageId: crypto.randomUUID() }),
      });
    expect((await send("x", { authorization: `Bearer ${token.slice(0, -2)}xx` })).status).toBe(401);
    expect((await send("x", { origin: "https://evil.example" })).status).toBe(403);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(`message ${i}`)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    // Counted by the WebchatRateLimiter Durable Object (global), not in the isolate: workerd keeps one
    // object per key, here the session and the visitor address that opened sessions.
    const objects = (await readdir(join(stack.dataDir, "wrangler/v3/do/agent-edge-WebchatRateLimiter"))).filter((name) =>
      /^[0-9a-f]{64}\.sqlite$/.test(name),
    );
    expect(objects.length).toBeGreaterThanOrEqual(2);
    // One address cannot open sessions without end (each would be a fresh message budget).
    const opens: number[] = [];
    for (let i = 0; i < 31; i++) opens.push((await fetch(sessions, { method: "POST", headers: { origin: hostOrigin } })).status);
    const firstRefused = opens.indexOf(429);
    expect(firstRefused).toBeGreaterThan(0);
    expect(opens.slice(firstRefused).every((status) => status === 429)).toBe(true);
    const read = await fetch(`${stack.edge.url}/webchat/${address}/messages`, {
      headers: { authorization: `Bearer ${token}`, origin: hostOrigin },
    });
    expect(read.status).toBe(200);
  });

  it("answers a playground session with the agent's draft; only a member of the channel's tenant opens one", async () => {
    const draftSessions = `${stack.edge.url}/webchat/${address}/draft-sessions`;
    const open = (token?: string) =>
      fetch(draftSessions, { method: "POST", headers: { origin: hostOrigin, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    expect((await open()).status).toBe(401);
    const other = await createAccessTenant(admin.db);
    expect((await open(other.apiKeys.admin.key)).status).toBe(404);

    // An edit is a draft: published visitors keep the published version.
    const edited = await api(`/v1/agents/${tenant.agentId}`, { method: "PATCH", body: { systemPrompt: "Draft instructions." } });
    const { version: draft, publishedVersion } = edited.body as { version: number; publishedVersion: number };
    expect(publishedVersion).toBeLessThan(draft);
    const opened = await open(tenant.apiKeys.viewer.key);
    expect(opened.status).toBe(201);
    const { token, sessionId } = (await opened.json()) as { token: string; sessionId: string };
    const sent = await fetch(`${stack.edge.url}/webchat/${address}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, origin: hostOrigin },
      body: JSON.stringify({ text: "which version are you?", clientMessageId: crypto.randomUUID() }),
    });
    expect(sent.status).toBe(202);
    const versionOf = async (key: string) =>
      (
        await admin.db
          .select({ version: usageRecords.agentVersion })
          .from(usageRecords)
          .innerJoin(conversations, eq(conversations.id, usageRecords.conversationId))
          .where(and(eq(usageRecords.tenantId, tenant.tenantId), eq(conversations.externalKey, key)))
      )[0]?.version;
    await waitFor(async () => (await versionOf(sessionId)) !== undefined, "the draft's reply");
    expect(await versionOf(sessionId)).toBe(draft);
  });
});
