import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { billingConfig } from "../../core/billing/config";
import { DEFAULT_PLANS } from "../../core/billing/plans";
import { createLogger } from "../../core/observability/log";
import { createPoolDb, type DbHandle } from "../../db/client";
import { agents, tenants, usageRecords, usageReports } from "../../db/schema";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { reportUsage } from "../../workers/pool/billing";
import { startFakeStripe, type FakeStripe } from "../fakes/stripe";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { createTestDatabase, type TestDatabase } from "../support/database";

/**
 * Plans and billing end to end: the admin API under workerd, the billing webhook through the queue
 * to the pool, and the Stripe fake as the platform's own account (Checkout, the portal, invoices,
 * meter events). The over-limit turn is in workers/pool/turn.int.test.ts.
 */
const BILLING_KEY = "sk_test_billing_e2e_0123456789";
const WEBHOOK_SECRET = "whsec_billing_e2e_0123456789";
const PRICES = { pro: "price_pro_e2e", business: "price_business_e2e" };
const PLANS = {
  ...DEFAULT_PLANS,
  pro: { ...DEFAULT_PLANS.pro!, stripePriceId: PRICES.pro },
  business: { ...DEFAULT_PLANS.business!, stripePriceId: PRICES.business },
};

let database: TestDatabase;
let stack: LocalStack;
let admin: DbHandle<pg.Pool>;
let app: DbHandle<pg.Pool>;
let stripe: FakeStripe;
let a: AccessTenant;
let b: AccessTenant;
let logDir: string;
let env: Record<string, string>;

type Json = Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, unknown> } };

async function call(path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${stack.edge.url}${path}`, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${init.token ?? a.apiKeys.admin.key}`,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Json) : {} };
}

const billing = async (token?: string) => (await call("/v1/billing", token ? { token } : {})).json;
const newAgent = (name: string) =>
  call("/v1/agents", {
    method: "POST",
    body: { name, systemPrompt: "Answer briefly.", modelPolicy: { candidates: [{ provider: "openai", model: "gpt-4o-mini" }] } },
  });
const subscriptionOf = () => stripe.billing.subscriptions.find((subscription) => subscription.customer === customerOf())!.id;
const customerOf = () => stripe.billing.customers.find((customer) => customer.metadata.tenantId === a.tenantId)!.id;

beforeAll(async () => {
  stripe = await startFakeStripe({ clientId: "ca_unused", platformKey: "sk_test_unused", billingKey: BILLING_KEY });
  env = {
    BILLING_PLANS: JSON.stringify(PLANS),
    BILLING_STRIPE_SECRET_KEY: BILLING_KEY,
    BILLING_STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: stripe.url,
  };
  database = await createTestDatabase();
  logDir = await mkdtemp(join(tmpdir(), "billing-e2e-"));
  stack = await startLocalStack({
    database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
    withChroma: false,
    seed: false,
    output: { file: join(logDir, "services.log") },
    edgeVars: env,
    poolEnv: { ...env, POOL_WAIT_TIME_SECONDS: "1", POOL_JOBS_INTERVAL_SECONDS: "0" },
  });
  stripe.billing.webhook = { url: `${stack.edge.url}/webhooks/billing/stripe`, secret: WEBHOOK_SECRET };
  admin = createPoolDb(database.adminUrl, { max: 2 });
  app = createPoolDb(database.appUrl, { max: 2 });
  a = await createAccessTenant(admin.db);
  b = await createAccessTenant(admin.db);
  await admin.db.update(tenants).set({ plan: "free" }).where(eq(tenants.id, a.tenantId));
}, 120_000);

afterAll(async () => {
  await app?.close();
  await admin?.close();
  await stack?.stop();
  await database?.close();
  await stripe?.close();
  if (logDir) await rm(logDir, { recursive: true, force: true });
});

describe("plans and limits", () => {
  it("shows the plan, each limit against what is used, and the plans there are; only to the tenant's admins", async () => {
    const shown = await billing();
    expect(shown).toMatchObject({ plan: { id: "free", name: "Free", monthlyPriceUsd: 0 }, basis: "plan", subscription: null, grace: null });
    const usage = Object.fromEntries((shown.usage as Array<{ limit: string }>).map((entry) => [entry.limit, entry]));
    expect(usage.agents).toEqual({ limit: "agents", allowed: 1, used: 1, percent: 100 });
    expect(usage.seats).toMatchObject({ allowed: 2, used: 3 });
    expect(usage.conversationsPerMonth).toMatchObject({ allowed: 100 });
    expect(shown.alerts).toEqual([]);
    expect((shown.plans as Array<{ id: string; purchasable: boolean }>).map((plan) => [plan.id, plan.purchasable])).toEqual([
      ["free", false],
      ["pro", true],
      ["business", true],
    ]);
    expect((await call("/v1/billing", { token: a.apiKeys.editor.key })).status).toBe(403);
    // Another tenant's billing is its own: there is no way to name this one.
    expect((await billing(b.apiKeys.admin.key)).plan).toMatchObject({ id: "business" });
  });

  it("refuses an agent, a seat or an integration beyond the plan with 402 naming the limit and the plans that lift it", async () => {
    const agent = await newAgent("Second");
    expect(agent.status).toBe(402);
    expect(agent.json.error).toMatchObject({
      code: "PLAN_LIMIT_REACHED",
      details: { plan: "free", limit: "agents", allowed: 1, used: 1, upgradeTo: ["pro", "business"] },
    });
    expect(agent.json.error!.message).toMatch(/Free plan allows 1 agents; 1 are in use\. Upgrade to Pro or Business/);
    const seat = await call("/v1/invitations", { method: "POST", body: { email: "one-more@example.test", roleId: a.roleIds.viewer } });
    expect(seat.json.error).toMatchObject({ code: "PLAN_LIMIT_REACHED", details: { limit: "seats", allowed: 2, used: 3 } });
    const integration = await call("/v1/integrations/hubspot/connect", {
      method: "POST",
      body: { method: "token", credentials: { accessToken: "pat-na1-x" } },
    });
    expect(integration.json.error).toMatchObject({
      code: "PLAN_LIMIT_REACHED",
      details: { module: "integrations", upgradeTo: ["pro", "business"] },
    });
    expect((await admin.db.select().from(agents).where(eq(agents.tenantId, a.tenantId))).map((row) => row.name)).not.toContain("Second");
  });

  it("refuses a phone line without the voice module, a channel past the plan's, and knowledge past its megabytes", async () => {
    const phone = await call("/v1/channels", {
      method: "POST",
      body: {
        kind: "voice",
        name: "Phone",
        agentId: a.agentId,
        accountSid: `AC${"1".repeat(32)}`,
        authToken: "0".repeat(32),
        settings: { phoneNumber: "+15005550006" },
      },
    });
    expect(phone.json.error).toMatchObject({ code: "PLAN_LIMIT_REACHED", details: { module: "voice", upgradeTo: ["business"] } });
    const webchat = (name: string) =>
      call("/v1/channels", {
        method: "POST",
        body: { kind: "webchat", name, agentId: a.agentId, settings: { allowedOrigins: ["https://shop.example"] } },
      });
    expect((await webchat("Site")).status).toBe(201);
    expect((await webchat("Second site")).json.error).toMatchObject({
      code: "PLAN_LIMIT_REACHED",
      details: { limit: "channels", allowed: 2, used: 2 },
    });
    const document = { name: "Prices", kind: "text", text: "x".repeat(1_500_000) };
    await admin.db
      .update(tenants)
      .set({ planLimits: { ...DEFAULT_PLANS.free!.limits, knowledgeMegabytes: 1 } })
      .where(eq(tenants.id, a.tenantId));
    try {
      const source = await call(`/v1/knowledge-bases/${a.knowledgeBaseId}/sources`, { method: "POST", body: document });
      expect(source.json.error).toMatchObject({ code: "PLAN_LIMIT_REACHED", details: { limit: "knowledgeMegabytes", allowed: 1 } });
    } finally {
      await admin.db.update(tenants).set({ planLimits: null }).where(eq(tenants.id, a.tenantId));
    }
  });
});

describe("Stripe Billing", () => {
  it("upgrades through Checkout: the plan moves when Stripe's webhook confirms the subscription", async () => {
    expect((await call("/v1/billing/portal", { method: "POST", body: {} })).status).toBe(409);
    const evil = await call("/v1/billing/checkout", { method: "POST", body: { plan: "pro", returnUrl: "https://evil.example/steal" } });
    expect(evil.status).toBe(400);
    expect((await call("/v1/billing/checkout", { method: "POST", body: { plan: "free" } })).json.error?.details).toMatchObject({
      reason: "PLAN_NOT_PURCHASABLE",
    });
    const checkout = await call("/v1/billing/checkout", { method: "POST", body: { plan: "pro" } });
    expect(checkout.status).toBe(200);
    expect(checkout.json.url).toBe(`${stripe.url}/checkout/${String(checkout.json.sessionId)}`);
    const session = stripe.billing.checkoutSessions.find((candidate) => candidate.id === checkout.json.sessionId)!;
    expect(session).toMatchObject({ price: PRICES.pro, clientReferenceId: a.tenantId, customer: customerOf() });
    expect(session.successUrl).toBe(`${stack.edge.url}/console/?checkout=success#/billing`);
    // Nothing changes before Stripe says so.
    expect((await billing()).plan).toMatchObject({ id: "free" });

    expect(await stripe.billing.completeCheckout(session.id)).toEqual([200, 200, 200]);
    await expect.poll(async () => (await billing()).plan, { timeout: 30_000, interval: 200 }).toMatchObject({ id: "pro" });
    expect((await billing()).subscription).toEqual({ status: "active" });
    expect((await newAgent("Second")).status).toBe(201);
    expect((await call("/v1/billing/checkout", { method: "POST", body: { plan: "business" } })).status).toBe(409);
    const portal = await call("/v1/billing/portal", { method: "POST", body: {} });
    expect(portal.json.url).toMatch(new RegExp(`^${stripe.url}/portal/bps_`));
    const next = (await billing()).nextInvoice;
    expect(next).toMatchObject({ source: "stripe", currency: "usd", amountDue: 49 });
  });

  it("refuses a forged or stale billing webhook with 400 and changes nothing", async () => {
    const event = stripe.billing.event("customer.subscription.deleted", {
      id: subscriptionOf(),
      object: "subscription",
      customer: customerOf(),
      status: "canceled",
      items: { data: [] },
    });
    const forged = await stripe.billing.send(event, { secret: "whsec_forged_0123456789" });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as Json).error?.code).toBe("INVALID_SIGNATURE");
    const unsigned = await fetch(`${stack.edge.url}/webhooks/billing/stripe`, { method: "POST", body: JSON.stringify(event) });
    expect(unsigned.status).toBe(400);
    const oversized = await fetch(`${stack.edge.url}/webhooks/billing/stripe`, { method: "POST", body: "x".repeat(1024 * 1024 + 1) });
    expect(oversized.status).toBe(413);
    expect(((await oversized.json()) as Json).error?.code).toBe("PAYLOAD_TOO_LARGE");
    // A genuine event afterwards is applied, so the forged one would have been too by now.
    await stripe.billing.payInvoice(subscriptionOf());
    await expect.poll(async () => (await billing()).subscription, { timeout: 30_000, interval: 200 }).toEqual({ status: "active" });
    expect((await billing()).plan).toMatchObject({ id: "pro" });
  });

  it("reports usage to the meter once per day, however often the report runs or fails", async () => {
    const yesterday = new Date(Date.now() - 86_400_000);
    await admin.db.insert(usageRecords).values(
      [1000, 234].map((tokens) => ({
        tenantId: a.tenantId,
        model: "gpt-4o-mini",
        provider: "openai",
        inputTokens: tokens,
        outputTokens: 0,
        latencyMs: 1,
        createdAt: yesterday,
      })),
    );
    const deps = (key: string) => ({
      db: app.db,
      billing: billingConfig({ ...env, BILLING_STRIPE_SECRET_KEY: key }),
      logger: createLogger({}, "error"),
    });
    const now = new Date();
    expect(await reportUsage(deps("sk_test_wrong_key"), now)).toEqual({ reported: 0, failed: 1 });
    const [failed] = await admin.db
      .select()
      .from(usageReports)
      .where(and(eq(usageReports.tenantId, a.tenantId), eq(usageReports.status, "failed")));
    expect(failed).toMatchObject({ quantity: 1234, error: expect.stringMatching(/./) });
    expect(await reportUsage(deps(BILLING_KEY), now)).toEqual({ reported: 1, failed: 0 });
    expect(await reportUsage(deps(BILLING_KEY), now)).toEqual({ reported: 0, failed: 0 });
    // As if the pool stopped between Stripe's answer and the row's update: the same identifier goes again and is refused.
    await admin.db.update(usageReports).set({ status: "pending" }).where(eq(usageReports.identifier, failed!.identifier));
    expect(await reportUsage(deps(BILLING_KEY), now)).toEqual({ reported: 1, failed: 0 });
    const events = stripe.billing.meterEvents.filter((event) => event.customer === customerOf());
    expect(events).toEqual([expect.objectContaining({ eventName: "agent_model_tokens", identifier: failed!.identifier, value: 1234 })]);
    expect(failed!.identifier).toBe(`${a.tenantId}:agent_model_tokens:${yesterday.toISOString().slice(0, 10)}`);
  });

  it("after a failed payment keeps the plan through the grace period, then applies the free plan's limits without deleting anything", async () => {
    await stripe.billing.failPayment(subscriptionOf());
    // Both events (the invoice, then the subscription going past due) are applied in Stripe's order.
    await expect.poll(async () => (await billing()).subscription, { timeout: 30_000, interval: 200 }).toEqual({ status: "past_due" });
    expect(await billing()).toMatchObject({ basis: "plan", grace: { endsAt: expect.any(String) } });
    // The grace period runs out.
    await admin.db
      .update(tenants)
      .set({ paymentFailedAt: new Date(Date.now() - 8 * 86_400_000) })
      .where(eq(tenants.id, a.tenantId));
    const lapsed = await billing();
    expect(lapsed).toMatchObject({ basis: "grace_expired", plan: { id: "pro" }, limits: { agents: 1 } });
    const refused = await newAgent("Third");
    expect(refused.json.error).toMatchObject({
      code: "PLAN_LIMIT_REACHED",
      details: { limit: "agents", allowed: 1, used: 2, graceExpired: true },
    });
    expect(refused.json.error!.message).toMatch(/grace period is over/);
    const kept = await call("/v1/agents");
    expect((kept.json.data as unknown[]).length).toBe(2);

    await stripe.billing.payInvoice(subscriptionOf());
    await expect.poll(async () => (await billing()).basis, { timeout: 30_000, interval: 200 }).toBe("plan");
    expect((await billing()).grace).toBeNull();
  });

  it("moves with a plan change in the portal, and a cancelled subscription falls back to free keeping every record", async () => {
    await stripe.billing.changePrice(subscriptionOf(), PRICES.business);
    await expect.poll(async () => (await billing()).plan, { timeout: 30_000, interval: 200 }).toMatchObject({ id: "business" });
    await stripe.billing.cancel(subscriptionOf());
    await expect.poll(async () => (await billing()).plan, { timeout: 30_000, interval: 200 }).toMatchObject({ id: "free" });
    const shown = await billing();
    expect(shown.subscription).toEqual({ status: "canceled" });
    expect(
      (shown.usage as Array<{ limit: string; used: number; allowed: number }>).find((entry) => entry.limit === "agents"),
    ).toMatchObject({
      used: 2,
      allowed: 1,
    });
    expect(((await call("/v1/agents")).json.data as unknown[]).length).toBe(2);
    // A new checkout is possible again.
    expect((await call("/v1/billing/checkout", { method: "POST", body: { plan: "pro" } })).status).toBe(200);
  });
});
