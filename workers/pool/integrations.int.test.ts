import { and, eq, isNotNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseKeyring, sealCredentials } from "../../core/crypto/secrets";
import { readModelEnvironment } from "../../core/engine/providers";
import { connectionOwner } from "../../core/integrations/access";
import { integrationConfig } from "../../core/integrations/config";
import { pkcePair } from "../../core/integrations/oauth";
import type { ProviderId, StoredCredentials } from "../../core/integrations/types";
import { createLogger } from "../../core/observability/log";
import { createPoolDb } from "../../db/client";
import { buildTenantGraph, insertTenantGraph, type TenantGraph } from "../../db/fixtures";
import {
  alerts,
  channels,
  integrationConnections,
  integrationEvents,
  messages,
  tenants,
  toolApprovals,
  usageRecords,
} from "../../db/schema";
import { conversationLogMessage } from "../../core/queue/builders";
import type { InboundMessage } from "../../core/queue/inbound-message";
import { startFakeHubSpot, type FakeHubSpot } from "../../test/fakes/hubspot";
import type { FakeOAuthServer } from "../../test/fakes/oauth-provider";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fakes/openai";
import { startFakeSalesforce, type FakeSalesforce } from "../../test/fakes/salesforce";
import { startFakeStripe, type FakeStripe } from "../../test/fakes/stripe";
import { startFakeTelegram, type FakeTelegram } from "../../test/fakes/telegram";
import { createTestDatabase, type TestDatabase } from "../../test/support/database";
import { inboundTextMessage as inbound } from "../../test/support/telegram";
import { processInboundMessage, type TurnDependencies } from "./handlers";

/**
 * Real turns (processInboundMessage) where the OpenAI fake calls the agents' integration tools, run
 * through the official SDKs (`@hubspot/api-client`, `jsforce`, `stripe`) against loopback fakes:
 * each tool's result in the reply, refresh before expiry and on a 401 with exactly one refresh for
 * many concurrent turns, rotated refresh tokens, a revoked grant answering "not connected", rate
 * limits, the approval gate for payment links and refunds, and no token in a prompt or log line.
 */
const keyring = parseKeyring(`k1:${Buffer.alloc(32, 9).toString("base64")}`);
const APPS = {
  HUBSPOT_CLIENT_ID: "hs-id",
  HUBSPOT_CLIENT_SECRET: "hs-secret-0123456789",
  SALESFORCE_CLIENT_ID: "sf-id-0123456789",
  SALESFORCE_CLIENT_SECRET: "sf-secret-0123456789",
  STRIPE_CLIENT_ID: "ca_0123456789",
  STRIPE_SECRET_KEY: "sk_test_platform_0123456789",
};
let database: TestDatabase;
let admin: ReturnType<typeof createPoolDb>;
let app: ReturnType<typeof createPoolDb>;
let telegram: FakeTelegram;
let openai: FakeOpenAI;
let hubspot: FakeHubSpot;
let salesforce: FakeSalesforce;
let stripe: FakeStripe;
let deps: TurnDependencies;
const logLines: string[] = [];
const issuedTokens: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  admin = createPoolDb(database.adminUrl, { max: 2 });
  app = createPoolDb(database.appUrl, { max: 8 });
  [telegram, openai, hubspot, salesforce, stripe] = await Promise.all([
    startFakeTelegram(),
    startFakeOpenAI({ apiKey: "sk-integrations" }),
    startFakeHubSpot({ clientId: APPS.HUBSPOT_CLIENT_ID, clientSecret: APPS.HUBSPOT_CLIENT_SECRET }),
    startFakeSalesforce({ clientId: APPS.SALESFORCE_CLIENT_ID, clientSecret: APPS.SALESFORCE_CLIENT_SECRET }),
    startFakeStripe({ clientId: APPS.STRIPE_CLIENT_ID, platformKey: APPS.STRIPE_SECRET_KEY }),
  ]);
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void logLines.push(String(line)));
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void logLines.push(String(line)));
  deps = {
    db: app.db,
    keyring,
    telegramApiBase: telegram.url,
    whatsappApiBase: "http://127.0.0.1:9/v21.0",
    modelEnv: readModelEnvironment({ OPENAI_API_KEY: "sk-integrations", OPENAI_BASE_URL: openai.baseUrl, MODEL_TIMEOUT_MS: "10000" }),
    logger: createLogger({ test: "integrations" }, "info"),
    integrations: integrationConfig({
      ...APPS,
      HUBSPOT_API_BASE: hubspot.url,
      HUBSPOT_AUTH_BASE: hubspot.url,
      SALESFORCE_LOGIN_URL: salesforce.url,
      STRIPE_API_BASE: stripe.url,
      STRIPE_CONNECT_BASE: stripe.url,
    }),
  };
});

afterAll(async () => {
  vi.restoreAllMocks();
  await Promise.all([telegram?.close(), openai?.close(), hubspot?.close(), salesforce?.close(), stripe?.close()]);
  await app?.close();
  await admin?.close();
  await database?.close();
});

/** Tokens from a fake's OAuth server as a real authorization would give them. */
async function grant(oauth: FakeOAuthServer, secret: string, clientId: string): Promise<Record<string, unknown>> {
  const { verifier, challenge } = await pkcePair();
  const code = oauth.approve({ redirectUri: "https://edge.test/callback", codeChallenge: challenge });
  const { status, body } = await oauth.token(
    new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: "https://edge.test/callback",
      client_id: clientId,
      client_secret: secret,
      code_verifier: verifier,
    }),
    undefined,
  );
  expect(status).toBe(200);
  issuedTokens.push(String(body.access_token), String(body.refresh_token));
  return body;
}

/** A tenant whose agent has these integration tools, and (unless `connect: false`) an OAuth connection to the provider. */
async function tenantWith(
  provider: ProviderId,
  tools: string[],
  options: { connect?: boolean; expiresInMs?: number } = {},
): Promise<{ graph: TenantGraph; connectionId: string }> {
  const graph = buildTenantGraph();
  Object.assign(graph.rows.agents, {
    modelPolicy: { candidates: [{ provider: "openai", model: "gpt-4o-mini" }], rules: [] },
    integrationTools: tools,
  });
  graph.rows.channels.credentials = await sealCredentials(
    keyring,
    { tenantId: graph.tenant.id, owner: `channel:${graph.rows.channels.id}` },
    { botToken: "555000333:integrations-test-bot" },
  );
  await insertTenantGraph(admin.db, graph);
  // The fixture's own connection row (a HubSpot token placeholder) would shadow the one made here.
  await admin.db.delete(integrationConnections).where(eq(integrationConnections.tenantId, graph.tenant.id));
  const connectionId = crypto.randomUUID();
  if (options.connect === false) return { graph, connectionId };
  let credentials: StoredCredentials;
  if (provider === "hubspot") {
    const body = await grant(hubspot.oauth, APPS.HUBSPOT_CLIENT_SECRET, APPS.HUBSPOT_CLIENT_ID);
    credentials = { accessToken: String(body.access_token), refreshToken: String(body.refresh_token) };
  } else if (provider === "salesforce") {
    const body = await grant(salesforce.oauth, APPS.SALESFORCE_CLIENT_SECRET, APPS.SALESFORCE_CLIENT_ID);
    credentials = { accessToken: String(body.access_token), refreshToken: String(body.refresh_token), instanceUrl: salesforce.url };
  } else {
    const body = await grant(stripe.oauth, APPS.STRIPE_SECRET_KEY, APPS.STRIPE_CLIENT_ID);
    credentials = { accessToken: String(body.access_token), accountId: String(body.stripe_user_id) };
  }
  await admin.db.insert(integrationConnections).values({
    id: connectionId,
    tenantId: graph.tenant.id,
    provider,
    authMethod: "oauth",
    account: { id: "acct" },
    credentials: await sealCredentials(keyring, { tenantId: graph.tenant.id, owner: connectionOwner(connectionId) }, credentials),
    accessExpiresAt: new Date(Date.now() + (options.expiresInMs ?? 30 * 60_000)),
  });
  return { graph, connectionId };
}

const usageOf = async (graph: TenantGraph) =>
  (await admin.db.select().from(usageRecords).where(eq(usageRecords.tenantId, graph.tenant.id)).orderBy(usageRecords.createdAt)).filter(
    (row) => row.provider === "openai",
  );
const integrationApprovals = (graph: TenantGraph) =>
  admin.db
    .select()
    .from(toolApprovals)
    .where(and(eq(toolApprovals.tenantId, graph.tenant.id), isNotNull(toolApprovals.integrationTool)));
/** A second provider's OAuth connection for an existing tenant (the way tenantWith makes its first). */
async function tenantConnection(graph: TenantGraph, provider: "salesforce"): Promise<string> {
  const body = await grant(salesforce.oauth, APPS.SALESFORCE_CLIENT_SECRET, APPS.SALESFORCE_CLIENT_ID);
  const connectionId = crypto.randomUUID();
  const credentials: StoredCredentials = {
    accessToken: String(body.access_token),
    refreshToken: String(body.refresh_token),
    instanceUrl: salesforce.url,
  };
  await admin.db.insert(integrationConnections).values({
    id: connectionId,
    tenantId: graph.tenant.id,
    provider,
    authMethod: "oauth",
    credentials: await sealCredentials(keyring, { tenantId: graph.tenant.id, owner: connectionOwner(connectionId) }, credentials),
    accessExpiresAt: new Date(Date.now() + 30 * 60_000),
  });
  return connectionId;
}
const connectionOf = async (id: string) =>
  (await admin.db.select().from(integrationConnections).where(eq(integrationConnections.id, id)))[0]!;

async function turn(graph: TenantGraph, chat: string, text: string, call?: { name: string; arguments?: Record<string, unknown> }) {
  if (call) openai.queueToolCall(call);
  expect(await processInboundMessage(deps, inbound(graph, chat, text))).toBe("replied");
  return telegram.sent(chat).at(-1)!.text;
}

describe("HubSpot tools", () => {
  it("finds a contact and opens a ticket linked to it, through @hubspot/api-client", async () => {
    const { graph } = await tenantWith("hubspot", ["hubspot.find_contact", "hubspot.create_ticket"]);
    const contact = hubspot.addContact({ email: "ada@example.com", firstname: "Ada", lastname: "Lovelace", phone: "+31201234567" });
    const found = await turn(graph, "hs-1", "am I in your CRM? ada@example.com", {
      name: "hubspot_find_contact",
      arguments: { email: "ada@example.com" },
    });
    expect(found).toContain(`contact ${contact.id}: Ada Lovelace, ada@example.com`);
    const opened = await turn(graph, "hs-1", "my order never arrived", {
      name: "hubspot_create_ticket",
      arguments: { subject: "Order never arrived", description: "Ordered on the 2nd, nothing yet.", contactId: contact.id },
    });
    const ticket = hubspot.objects.get("tickets")!.at(-1)!;
    expect(opened).toContain(`Opened ticket ${ticket.id}`);
    expect(ticket.properties).toMatchObject({ subject: "Order never arrived", hs_pipeline: "0", hs_pipeline_stage: "1" });
    expect(ticket.associations).toEqual([
      { to: { id: contact.id }, types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 16 }] },
    ]);
    const usage = await usageOf(graph);
    expect(usage.at(-1)!.toolCalls).toEqual([expect.objectContaining({ name: "hubspot.create_ticket", ok: true, outcome: "ok" })]);
  });

  it("refreshes an expiring token once for many concurrent turns (row lock across connections)", async () => {
    const { graph, connectionId } = await tenantWith("hubspot", ["hubspot.find_contact"], { expiresInMs: 60_000 });
    hubspot.addContact({ email: "grace@example.com", firstname: "Grace" });
    const before = hubspot.oauth.counts.refresh;
    hubspot.oauth.slowRefreshes(150);
    try {
      const chats = ["hs-c1", "hs-c2", "hs-c3", "hs-c4", "hs-c5"];
      for (const _ of chats) openai.queueToolCall({ name: "hubspot_find_contact", arguments: { email: "grace@example.com" } });
      const outcomes = await Promise.all(chats.map((chat) => processInboundMessage(deps, inbound(graph, chat, "find me"))));
      expect(outcomes).toEqual(chats.map(() => "replied"));
      for (const chat of chats) expect(telegram.sent(chat).at(-1)!.text).toContain("Grace");
    } finally {
      hubspot.oauth.slowRefreshes(0);
    }
    expect(hubspot.oauth.counts.refresh - before).toBe(1);
    const row = await connectionOf(connectionId);
    expect(row.tokenVersion).toBe(2);
    expect(row.accessExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
  });

  it("refreshes once on a 401 when concurrent turns find their token refused", async () => {
    const { graph, connectionId } = await tenantWith("hubspot", ["hubspot.find_contact"]);
    hubspot.addContact({ email: "linus@example.com", firstname: "Linus" });
    hubspot.oauth.expireAccessTokens();
    const before = hubspot.oauth.counts.refresh;
    const chats = ["hs-401-1", "hs-401-2", "hs-401-3", "hs-401-4"];
    for (const _ of chats) openai.queueToolCall({ name: "hubspot_find_contact", arguments: { email: "linus@example.com" } });
    await Promise.all(chats.map((chat) => processInboundMessage(deps, inbound(graph, chat, "find me"))));
    for (const chat of chats) expect(telegram.sent(chat).at(-1)!.text).toContain("Linus");
    expect(hubspot.oauth.counts.refresh - before).toBe(1);
    expect((await connectionOf(connectionId)).tokenVersion).toBe(2);
  });

  it("waits out a 429 per Retry-After, and tells the model to try later when it persists", async () => {
    const { graph } = await tenantWith("hubspot", ["hubspot.find_contact"]);
    hubspot.addContact({ email: "rate@example.com", firstname: "Rita" });
    hubspot.failures.next(1, 429, "0");
    expect(await turn(graph, "hs-429", "find", { name: "hubspot_find_contact", arguments: { email: "rate@example.com" } })).toContain(
      "Rita",
    );
    const requests = hubspot.requests.length;
    hubspot.failures.next(3, 429, "0");
    const limited = await turn(graph, "hs-429b", "find", { name: "hubspot_find_contact", arguments: { email: "rate@example.com" } });
    expect(limited).toContain("HubSpot is rate limiting requests");
    expect(limited).toContain("Try again later.");
    expect(hubspot.requests.length - requests).toBe(3);
  });

  it("answers 'not connected' without failing the turn when the grant was revoked, marks the connection and alerts", async () => {
    const { graph, connectionId } = await tenantWith("hubspot", ["hubspot.find_contact"]);
    hubspot.oauth.revokeAll();
    const reply = await turn(graph, "hs-revoked", "find", { name: "hubspot_find_contact", arguments: { email: "x@example.com" } });
    expect(reply).toContain("HubSpot is not connected for this business right now");
    const row = await connectionOf(connectionId);
    expect(row.status).toBe("needs_reauth");
    const raised = await admin.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.tenantId, graph.tenant.id), eq(alerts.kind, "integration.needs_reauth")));
    expect(raised).toHaveLength(1);
    const usage = await usageOf(graph);
    expect(usage.at(-1)!.toolCalls).toEqual([
      expect.objectContaining({ name: "hubspot.find_contact", ok: false, outcome: "not_connected" }),
    ]);
  });

  it("answers 'not connected' when the tenant never connected the provider", async () => {
    const { graph } = await tenantWith("hubspot", ["hubspot.find_contact"], { connect: false });
    expect(await turn(graph, "hs-none", "find", { name: "hubspot_find_contact", arguments: { email: "x@example.com" } })).toContain(
      "no connection has been made",
    );
  });
});

describe("plans", () => {
  it("offers no integration tool to an agent whose tenant's plan lacks the module; the connection stays", async () => {
    const { graph } = await tenantWith("hubspot", ["hubspot.find_contact"]);
    await admin.db.update(tenants).set({ plan: "free" }).where(eq(tenants.id, graph.tenant.id));
    const calls = hubspot.requests.length;
    await turn(graph, "hs-free", "am I in your CRM? ada@example.com");
    const offered = openai.requests.at(-1)!.body.tools ?? [];
    expect(offered.map((tool) => tool.function.name)).not.toContain("hubspot_find_contact");
    expect(hubspot.requests.length).toBe(calls);
    expect(await admin.db.select().from(integrationConnections).where(eq(integrationConnections.tenantId, graph.tenant.id))).toHaveLength(
      1,
    );
  });
});

describe("Salesforce tools", () => {
  it("finds a person with a quote in the address: jsforce quotes the value in the SOQL", async () => {
    const { graph } = await tenantWith("salesforce", ["salesforce.find_person", "salesforce.create_case"]);
    const person = salesforce.addRecord("Contact", { FirstName: "Miles", LastName: "O'Brien", Email: "o'brien@example.com" });
    const reply = await turn(graph, "sf-1", "find me", { name: "salesforce_find_person", arguments: { email: "o'brien@example.com" } });
    expect(reply).toContain(`contact ${person.Id}: Miles O'Brien`);
    expect(salesforce.queries.at(-2)).toBe("SELECT Id, Name, Email, Phone FROM Contact WHERE Email = 'o\\'brien@example.com' LIMIT 5");
    const opened = await turn(graph, "sf-1", "broken", {
      name: "salesforce_create_case",
      arguments: { subject: "Transporter broken", description: "It scrambles people.", contactId: person.Id },
    });
    const created = salesforce.records.get("Case")!.at(-1)!;
    expect(opened).toContain(`Opened case ${created.Id}`);
    expect(created).toMatchObject({ Subject: "Transporter broken", ContactId: person.Id, Origin: "Chat" });
  });

  it("refuses arguments outside the tool's schema before any call to Salesforce", async () => {
    const { graph } = await tenantWith("salesforce", ["salesforce.create_lead"]);
    const requests = salesforce.requests.length;
    openai.queueToolCall({ name: "salesforce_create_lead", arguments: { lastName: "Solo" } });
    expect(await processInboundMessage(deps, inbound(graph, "sf-2", "sign me up"))).toBe("replied");
    expect(salesforce.requests.length).toBe(requests);
    expect(salesforce.records.get("Lead")!.some((lead) => lead.LastName === "Solo")).toBe(false);
  });

  it("passes Salesforce's refusal to the model in its own words", async () => {
    const { graph } = await tenantWith("salesforce", ["salesforce.create_lead"]);
    salesforce.failures.next(1, 500);
    const reply = await turn(graph, "sf-3", "sign me up", {
      name: "salesforce_create_lead",
      arguments: { lastName: "Solo", company: "Falcon" },
    });
    expect(reply).toContain("Salesforce refused the request (UNKNOWN_EXCEPTION): scripted failure");
  });

  it("stores a rotated refresh token in the same update, so the next refresh works", async () => {
    salesforce.oauth.options.rotateRefreshTokens = true;
    try {
      const { graph, connectionId } = await tenantWith("salesforce", ["salesforce.find_person"]);
      salesforce.addRecord("Lead", { LastName: "Rotor", Company: "Spin", Email: "rotor@example.com" });
      for (const chat of ["sf-rot-1", "sf-rot-2"]) {
        await admin.db
          .update(integrationConnections)
          .set({ accessExpiresAt: new Date(Date.now() - 1000) })
          .where(eq(integrationConnections.id, connectionId));
        expect(await turn(graph, chat, "find", { name: "salesforce_find_person", arguments: { email: "rotor@example.com" } })).toContain(
          "Rotor",
        );
      }
      expect((await connectionOf(connectionId)).tokenVersion).toBe(3);
    } finally {
      salesforce.oauth.options.rotateRefreshTokens = false;
    }
  });
});

describe("Stripe tools", () => {
  it("finds a customer and lists their invoices with payment status, as the connected account", async () => {
    const { graph } = await tenantWith("stripe", ["stripe.find_customer", "stripe.list_invoices"]);
    stripe.customers.push({ id: "cus_ADA000001", object: "customer", email: "ada@example.com", name: "Ada Lovelace" });
    stripe.invoices.push({
      id: "in_1",
      object: "invoice",
      number: "INV-0001",
      customer: "cus_ADA000001",
      status: "open",
      total: 12_500,
      amount_remaining: 12_500,
      currency: "eur",
      due_date: Date.UTC(2026, 11, 31) / 1000,
    });
    expect(await turn(graph, "st-1", "who am I", { name: "stripe_find_customer", arguments: { email: "ada@example.com" } })).toContain(
      "customer cus_ADA000001: Ada Lovelace",
    );
    expect(
      await turn(graph, "st-1", "what do I owe", { name: "stripe_list_invoices", arguments: { customerId: "cus_ADA000001" } }),
    ).toContain("invoice INV-0001: 125.00 EUR, open, 125.00 EUR outstanding, due 2026-12-31");
  });

  it("creates a payment link only after the person confirms the exact call, and remembers it for the conversation", async () => {
    const { graph } = await tenantWith("stripe", ["stripe.create_payment_link"]);
    const links = stripe.paymentLinks.length;
    const call = { name: "stripe_create_payment_link", arguments: { priceId: "price_GOLD0001", quantity: 2 } };
    const asked = await turn(graph, "st-pay", "I want two gold plans", call);
    expect(asked).toContain("needs confirmation first");
    expect(stripe.paymentLinks.length).toBe(links);
    const [approval] = await integrationApprovals(graph);
    expect(approval).toMatchObject({ integrationTool: "stripe.create_payment_link", toolId: null, status: "pending" });
    const code = /CONFIRM ([A-Z0-9]{6})/.exec(asked)![1]!;
    const made = await turn(graph, "st-pay", `CONFIRM ${code}`, call);
    expect(stripe.paymentLinks.length).toBe(links + 1);
    const link = stripe.paymentLinks.at(-1)!;
    expect(made).toContain(`Payment link ready: ${String(link.url)}`);
    expect(link.metadata).toMatchObject({ tenant_id: graph.tenant.id });
    const [remembered] = await admin.db
      .select()
      .from(integrationEvents)
      .where(and(eq(integrationEvents.tenantId, graph.tenant.id), eq(integrationEvents.kind, "payment_link")));
    expect(remembered).toMatchObject({ provider: "stripe", externalId: link.id, kind: "payment_link" });
  });

  it("never refunds on the person's confirmation alone: only an operator may approve", async () => {
    const { graph } = await tenantWith("stripe", ["stripe.refund_payment"]);
    const call = { name: "stripe_refund_payment", arguments: { paymentIntentId: "pi_ABCDEF123", amount: 500 } };
    const asked = await turn(graph, "st-refund", "refund me", call);
    expect(asked).toContain("needs a staff member's approval");
    expect(asked).not.toContain("CONFIRM");
    const [approval] = await integrationApprovals(graph);
    const { confirmationCode } = await import("./tools");
    const code = await confirmationCode(approval!.id);
    await turn(graph, "st-refund", `CONFIRM ${code}`, call);
    expect(stripe.refunds.filter((r) => r.payment_intent === "pi_ABCDEF123")).toHaveLength(0);
    // An operator's approval lets the next identical call run, once.
    await admin.db.update(toolApprovals).set({ status: "approved", decidedBy: "user:operator" }).where(eq(toolApprovals.id, approval!.id));
    expect(await turn(graph, "st-refund", "so?", call)).toContain("Refund re_");
    expect(stripe.refunds.filter((r) => r.payment_intent === "pi_ABCDEF123")).toHaveLength(1);
  });
});

describe("conversation transcripts in the CRM", () => {
  it("writes the transcript once per handoff to each CRM that logs conversations, found by the WhatsApp number", async () => {
    const { graph } = await tenantWith("hubspot", []);
    graph.rows.channels.kind = "whatsapp";
    await admin.db.update(channels).set({ kind: "whatsapp" }).where(eq(channels.id, graph.rows.channels.id!));
    const sfConnection = await tenantConnection(graph, "salesforce");
    await admin.db
      .update(integrationConnections)
      .set({ settings: { logConversations: true } })
      .where(eq(integrationConnections.tenantId, graph.tenant.id));
    const contact = hubspot.addContact({ phone: "+31612345678", firstname: "Wim" });
    const lead = salesforce.addRecord("Lead", { LastName: "Kok", Company: "Wim BV", Phone: "+31612345678" });
    const conversationId = graph.rows.conversations.id!;
    await admin.db.insert(messages).values([
      {
        tenantId: graph.tenant.id,
        conversationId,
        channelId: graph.rows.channels.id!,
        direction: "inbound",
        status: "received",
        content: "My order is late",
        sender: { id: "31612345678", name: "Wim Kok" },
      },
      {
        tenantId: graph.tenant.id,
        conversationId,
        channelId: graph.rows.channels.id!,
        direction: "outbound",
        status: "sent",
        content: "Sorry to hear that.",
      },
    ]);
    const job = conversationLogMessage({ tenantId: graph.tenant.id, conversationId, occurrence: "handoff-1", receivedAt: new Date() });
    const notes = hubspot.objects.get("notes")!.length;
    const tasks = salesforce.records.get("Task")!.length;
    expect(await processInboundMessage(deps, job)).toBe("status_recorded");
    const note = hubspot.objects.get("notes")!.at(-1)!;
    expect(hubspot.objects.get("notes")!.length).toBe(notes + 1);
    expect(note.associations[0]!.to.id).toBe(contact.id);
    expect(note.properties.hs_note_body).toContain("Customer: My order is late");
    expect(note.properties.hs_note_body).toContain("Agent: Sorry to hear that.");
    const task = salesforce.records.get("Task")!.at(-1)!;
    expect(salesforce.records.get("Task")!.length).toBe(tasks + 1);
    expect(task).toMatchObject({ WhoId: lead.Id, Status: "Completed", Subject: "WhatsApp conversation handed to a person" });
    // Delivered again: nothing written twice.
    expect(await processInboundMessage(deps, job)).toBe("status_recorded");
    expect(hubspot.objects.get("notes")!.length).toBe(notes + 1);
    expect(salesforce.records.get("Task")!.length).toBe(tasks + 1);
    expect(sfConnection).toBeDefined();
  });

  it("queues the transcript when the person asks for a human, and writes nothing for a channel that identifies nobody", async () => {
    const { graph } = await tenantWith("hubspot", []);
    await admin.db
      .update(integrationConnections)
      .set({ settings: { logConversations: true } })
      .where(eq(integrationConnections.tenantId, graph.tenant.id));
    const queued: InboundMessage[] = [];
    const withQueue: TurnDependencies = { ...deps, enqueue: async (message) => void queued.push(message) };
    expect(await processInboundMessage(withQueue, inbound(graph, "human-1", "/human"))).toBe("replied");
    const log = queued.find((m) => m.kind === "conversation.log");
    expect(log).toMatchObject({ tenantId: graph.tenant.id, reason: "handoff" });
    const notes = hubspot.objects.get("notes")!.length;
    expect(await processInboundMessage(deps, log!)).toBe("status_recorded");
    expect(hubspot.objects.get("notes")!.length).toBe(notes);
    const [recorded] = await admin.db
      .select()
      .from(integrationEvents)
      .where(and(eq(integrationEvents.tenantId, graph.tenant.id), eq(integrationEvents.kind, "transcript")));
    expect(recorded!.details).toMatchObject({ written: false, text: "The channel gives no email or phone to find the person by." });
  });
});

describe("secrets", () => {
  it("never puts a token in a prompt, a tool result or a log line", () => {
    const prompts = JSON.stringify(openai.requests.map((r) => r.body.messages));
    const logs = logLines.join("\n");
    expect(issuedTokens.length).toBeGreaterThan(10);
    for (const token of [...issuedTokens, APPS.STRIPE_SECRET_KEY, APPS.HUBSPOT_CLIENT_SECRET, APPS.SALESFORCE_CLIENT_SECRET]) {
      expect(prompts).not.toContain(token);
      expect(logs).not.toContain(token);
    }
    expect(logs).toContain("integration.tool_call");
  });
});
