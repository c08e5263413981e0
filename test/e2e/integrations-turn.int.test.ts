import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../core/access/api-keys";
import { ALL_PERMISSIONS } from "../../core/access/permissions";
import { parseChannelAddress } from "../../core/channels/address";
import { telegramWebhookSecret } from "../../core/channels/telegram/webhook-secret";
import { createPoolDb, type DbHandle } from "../../db/client";
import { integrationConnections, integrationEvents, messages, roles } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { startFakeHubSpot, type FakeHubSpot } from "../fakes/hubspot";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/openai";
import { startFakeStripe, type FakeStripe } from "../fakes/stripe";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { textUpdate } from "../support/telegram";
import type pg from "pg";

/**
 * Integrations through the whole platform: the admin API under workerd connects HubSpot by OAuth
 * (authorize redirect, public callback) and Stripe by a restricted key (which registers the payment
 * webhook), a Telegram message goes edge → SQS → pool, the OpenAI fake calls the tools, and the
 * reply reaches the Telegram fake. A payment for the link the agent sent arrives as a signed Stripe
 * event at the edge and is told to the person once, however often Stripe sends it; a forged or stale
 * signature answers 400 and nothing happens.
 */
const APPS = { HUBSPOT_CLIENT_ID: "hs-e2e-client", HUBSPOT_CLIENT_SECRET: "hs-e2e-secret-0123456789" };
let database: TestDatabase;
let stack: LocalStack;
let admin: DbHandle<pg.Pool>;
let openai: FakeOpenAI;
let hubspot: FakeHubSpot;
let stripe: FakeStripe;
let apiKey: string;
let tenantId: string;
let telegramSecret: string;

async function api(path: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${stack.edge.url}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${apiKey}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** A Telegram user writes to the demo bot; answers the bot's next reply in that chat. */
async function say(chatId: number, text: string, call?: { name: string; arguments: Record<string, unknown> }) {
  if (call) openai.queueToolCall(call);
  const before = stack.telegram!.sent(chatId).length;
  const response = await fetch(`${stack.edge.url}/webhooks/telegram/${stack.demo!.address}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": telegramSecret },
    body: JSON.stringify(textUpdate(text, { chatId })),
  });
  expect(response.status).toBe(200);
  const sent = await stack.telegram!.waitForSent(chatId, before + 1);
  return sent.at(-1)!.text;
}

beforeAll(async () => {
  [openai, hubspot, stripe] = await Promise.all([
    startFakeOpenAI({ apiKey: "sk-e2e-integrations" }),
    startFakeHubSpot({ clientId: APPS.HUBSPOT_CLIENT_ID, clientSecret: APPS.HUBSPOT_CLIENT_SECRET }),
    startFakeStripe({ clientId: "ca_unused", platformKey: "sk_test_unused" }),
  ]);
  database = await createTestDatabase();
  const providers = {
    ...APPS,
    HUBSPOT_API_BASE: hubspot.url,
    HUBSPOT_AUTH_BASE: hubspot.url,
    STRIPE_API_BASE: stripe.url,
    STRIPE_CONNECT_BASE: stripe.url,
  };
  stack = await startLocalStack({
    database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
    withChroma: false,
    output: "quiet",
    edgeVars: providers,
    poolEnv: {
      ...providers,
      OPENAI_API_KEY: "sk-e2e-integrations",
      OPENAI_BASE_URL: openai.baseUrl,
      POOL_WAIT_TIME_SECONDS: "1",
      LOG_LEVEL: "warn",
    },
  });
  admin = createPoolDb(database.adminUrl, { max: 2 });
  tenantId = stack.demo!.tenantId;
  telegramSecret = await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, parseChannelAddress(stack.demo!.address)!);
  const created = await withTenant(admin.db, tenantId, async (tx) => {
    const [role] = await tx
      .select()
      .from(roles)
      .where(and(eq(roles.tenantId, tenantId), eq(roles.name, "admin")));
    const ctx = {
      tenantId,
      actor: { type: "system" as const, id: "test" },
      role: { id: role!.id, name: "admin" },
      permissions: new Set(ALL_PERMISSIONS),
      allowedOrigins: [],
      tx,
    };
    return createApiKey({ ctx, input: { name: "integrations e2e", roleId: role!.id } });
  });
  apiKey = created.key;
}, 180_000);

afterAll(async () => {
  await admin?.close();
  await stack?.stop();
  await database?.close();
  await Promise.all([openai?.close(), hubspot?.close(), stripe?.close()]);
});

describe("integrations in real turns", () => {
  it("connects HubSpot by OAuth and the agent finds the person in a Telegram conversation", async () => {
    const start = await api("/v1/integrations/hubspot/connect", { method: "POST", body: { method: "oauth" } });
    expect(start.status).toBe(200);
    const approve = await fetch(String(start.json.authorizationUrl), { redirect: "manual" });
    const callback = await fetch(approve.headers.get("location")!);
    expect(callback.status, await callback.clone().text()).toBe(200);
    expect(await callback.text()).toContain("HubSpot is connected");

    const agent = await api(`/v1/integrations/hubspot/agents/${stack.demo!.agentId}`, { method: "PUT", body: { tools: ["find_contact"] } });
    // Giving the agent tools changes its draft; publishing makes the channels use them.
    expect((await api(`/v1/agents/${stack.demo!.agentId}/publish`, { method: "POST", body: {} })).status).toBe(200);
    expect(agent.status).toBe(200);
    const contact = hubspot.addContact({ email: "ada@example.com", firstname: "Ada", lastname: "Lovelace" });
    const reply = await say(5101, "do you know me? ada@example.com", {
      name: "hubspot_find_contact",
      arguments: { email: "ada@example.com" },
    });
    expect(reply).toContain(`contact ${contact.id}: Ada Lovelace`);
  });

  it("sends a payment link after the person confirms, and tells them once when Stripe reports the payment", async () => {
    const connected = await api("/v1/integrations/stripe/connect", {
      method: "POST",
      body: { method: "token", credentials: { accessToken: stripe.restrictedKey } },
    });
    expect(connected.status, JSON.stringify(connected.json)).toBe(201);
    expect(connected.json.account).toMatchObject({ webhook: "registered" });
    const endpoint = stripe.webhookEndpoints.at(-1)!;
    expect(endpoint.url).toMatch(new RegExp(`^${stack.edge.url}/webhooks/stripe/${tenantId}\\.${String(connected.json.id)}\\?s=v1\\.`));
    expect(endpoint.url).not.toContain(endpoint.secret);
    expect(endpoint.enabledEvents).toEqual(["checkout.session.completed", "payment_intent.succeeded"]);
    await api(`/v1/integrations/stripe/agents/${stack.demo!.agentId}`, { method: "PUT", body: { tools: ["create_payment_link"] } });
    await api(`/v1/agents/${stack.demo!.agentId}/publish`, { method: "POST", body: {} });

    const call = { name: "stripe_create_payment_link", arguments: { priceId: "price_PRO00001", quantity: 1 } };
    const asked = await say(5102, "I'd like the pro plan", call);
    const code = /CONFIRM ([A-Z0-9]{6})/.exec(asked)?.[1];
    expect(code, asked).toBeDefined();
    const link = await say(5102, `CONFIRM ${code}`, call);
    const made = stripe.paymentLinks.at(-1)!;
    expect(link).toContain(String(made.url));

    const [checkout, succeeded] = stripe.paymentEvents(String(made.id), 4900);
    expect((await stripe.deliver(endpoint, checkout)).status).toBe(200);
    const [notice] = await stack.telegram!.waitForSent(5102, stack.telegram!.sent(5102).length + 1).then((sent) => sent.slice(-1));
    expect(notice!.text).toBe("Payment received: €49.00. Thank you!");

    // The same event again, and the payment intent's own event: acknowledged, nothing sent twice.
    expect((await stripe.deliver(endpoint, checkout)).status).toBe(200);
    expect((await stripe.deliver(endpoint, succeeded)).status).toBe(200);
    await expect
      .poll(
        async () =>
          (
            await admin.db
              .select()
              .from(integrationEvents)
              .where(eq(integrationEvents.externalId, String(succeeded.id)))
          ).length,
      )
      .toBe(1);
    const notices = await admin.db
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, tenantId), eq(messages.content, "Payment received: €49.00. Thank you!")));
    expect(notices).toHaveLength(1);
    expect(stack.telegram!.sent(5102).filter((m) => m.text.startsWith("Payment received"))).toHaveLength(1);
  });

  it("answers 400 to a forged or stale signature and to a URL without our sealed secret, and records nothing", async () => {
    const endpoint = stripe.webhookEndpoints.at(-1)!;
    const [checkout] = stripe.paymentEvents("plink_unknown", 100);
    const forged = await stripe.deliver(endpoint, checkout, { secret: "whsec_forged" });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: { code: "INVALID_SIGNATURE" } });
    const stale = await stripe.deliver(endpoint, checkout, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(400);
    const bare = await stripe.deliver({ url: endpoint.url.split("?")[0]!, secret: endpoint.secret }, checkout);
    expect(bare.status).toBe(400);
    // Another connection's sealed secret on this address does not open.
    const other = new URL(endpoint.url);
    other.pathname = other.pathname.replace(/\.[0-9a-f-]+$/, `.${crypto.randomUUID()}`);
    expect((await stripe.deliver({ url: other.toString(), secret: endpoint.secret }, checkout)).status).toBe(400);
    const forgedAfter = await stripe.deliver(endpoint, { ...checkout, id: "evt_forged2" }, { secret: "whsec_forged" });
    expect(forgedAfter.status).toBe(400);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const recorded = await admin.db
      .select()
      .from(integrationEvents)
      .where(eq(integrationEvents.externalId, String(checkout.id)));
    expect(recorded).toHaveLength(0);
    expect(await admin.db.select().from(integrationEvents).where(eq(integrationEvents.externalId, "evt_forged2"))).toHaveLength(0);
  });

  it("removes the webhook endpoint when Stripe is disconnected", async () => {
    const [row] = await admin.db
      .select()
      .from(integrationConnections)
      .where(and(eq(integrationConnections.tenantId, tenantId), eq(integrationConnections.provider, "stripe")));
    const endpoints = stripe.webhookEndpoints.length;
    const removed = await api(`/v1/integration-connections/${row!.id}`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    expect(stripe.webhookEndpoints.length).toBe(endpoints - 1);
  });
});
