import { inboundTextMessage } from "../../test/support/telegram";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handOffConversation, releaseConversation } from "../../core/agents";
import { parseKeyring, sealCredentials } from "../../core/crypto/secrets";
import { ALL_MODELS_FAILED_REPLY, COMMAND_REPLIES } from "../../core/engine/commands";
import { sealProviderKey } from "../../core/engine/credentials";
import { readModelEnvironment } from "../../core/engine/providers";
import { createLogger } from "../../core/observability/log";
import { createPoolDb } from "../../db/client";
import { buildTenantGraph, insertTenantGraph, type TenantGraph } from "../../db/fixtures";
import {
  alerts,
  channels,
  conversations,
  messages,
  tenants,
  usageMonthConversations,
  usageMonths,
  usageRecords,
  type agents,
} from "../../db/schema";
import { startFakeGemini, type FakeGemini } from "../../test/fakes/gemini";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fakes/openai";
import { startFakeTelegram, type FakeTelegram } from "../../test/fakes/telegram";
import { runAsMember } from "../../test/support/verbs";
import { createTestDatabase, type TestDatabase } from "../../test/support/database";
import { processInboundMessage, type TurnDependencies } from "./handlers";
import { AllModelsFailedError } from "./turn-errors";

const keyring = parseKeyring(`k1:${Buffer.alloc(32, 3).toString("base64")}`);
const mini = { provider: "openai", model: "gpt-4o-mini" } as const;
const flash = { provider: "gemini", model: "gemini-2.0-flash" } as const;

let database: TestDatabase;
let admin: ReturnType<typeof createPoolDb>;
let app: ReturnType<typeof createPoolDb>;
let telegram: FakeTelegram;
let openai: FakeOpenAI;
let gemini: FakeGemini;
let deps: TurnDependencies;

beforeAll(async () => {
  database = await createTestDatabase();
  admin = createPoolDb(database.adminUrl, { max: 1 });
  app = createPoolDb(database.appUrl, { max: 4 });
  [telegram, openai, gemini] = await Promise.all([
    startFakeTelegram(),
    startFakeOpenAI({ apiKey: "sk-turn" }),
    startFakeGemini({ apiKey: "gm-turn" }),
  ]);
  deps = {
    db: app.db,
    keyring,
    telegramApiBase: telegram.url,
    whatsappApiBase: "http://127.0.0.1:9/v21.0", // no WhatsApp channel here: loopback, never called
    modelEnv: readModelEnvironment({
      OPENAI_API_KEY: "sk-turn",
      OPENAI_BASE_URL: openai.baseUrl,
      GEMINI_API_KEY: "gm-turn",
      GEMINI_BASE_URL: gemini.baseUrl,
      MODEL_TIMEOUT_MS: "2000",
    }),
    logger: createLogger({ test: "turn" }, "error"),
  };
});

afterAll(async () => {
  await Promise.all([telegram?.close(), openai?.close(), gemini?.close()]);
  await app?.close();
  await admin?.close();
  await database?.close();
});

/** A tenant with one agent and one Telegram channel whose token the fake accepts. */
async function makeTenant(
  options: { settings?: Record<string, unknown>; agent?: Partial<typeof agents.$inferInsert> } = {},
): Promise<TenantGraph> {
  const graph = buildTenantGraph();
  graph.tenant.settings = options.settings ?? {};
  Object.assign(graph.rows.agents, { modelPolicy: { candidates: [mini, flash], rules: [] }, ...options.agent });
  graph.rows.channels.credentials = await sealCredentials(
    keyring,
    { tenantId: graph.tenant.id, owner: `channel:${graph.rows.channels.id}` },
    { botToken: "555000111:turn-test-bot-token" },
  );
  await insertTenantGraph(admin.db, graph);
  return graph;
}

const inbound = inboundTextMessage;

/** The tenant's usage records, without the fixture's own placeholder row. */
const usageOf = async (graph: TenantGraph) =>
  (await admin.db.select().from(usageRecords).where(eq(usageRecords.tenantId, graph.tenant.id)).orderBy(usageRecords.createdAt)).filter(
    (row) => row.provider !== graph.rows.usage_records.provider,
  );

const conversationOf = async (graph: TenantGraph, chatId: string) =>
  (
    await admin.db
      .select()
      .from(conversations)
      .where(and(eq(conversations.tenantId, graph.tenant.id), eq(conversations.externalKey, chatId)))
  )[0]!;

describe("processInboundMessage with the engine", () => {
  it("answers and records model, provider, tokens, cost, latency, agent version, selection and fallback path", async () => {
    const graph = await makeTenant({ agent: { currentVersion: 7 } });
    openai.failNext(1, 429);
    expect(await processInboundMessage(deps, inbound(graph, "100", "hello"))).toBe("replied");
    expect(telegram.sent("100").map((m) => m.text)).toEqual(["(gemini-2.0-flash) You asked: hello"]);
    const [usage] = await usageOf(graph);
    expect(usage).toMatchObject({ provider: "gemini", model: "gemini-2.0-flash", agentVersion: 7, outcome: "answered" });
    expect(usage!.inputTokens).toBeGreaterThan(0);
    expect(usage!.costNanoUsd).toBeGreaterThan(0);
    expect(usage!.selection).toEqual({
      reason: "policy_order",
      chain: ["openai:gpt-4o-mini", "gemini:gemini-2.0-flash"],
      skipped: [],
      budget: "normal",
    });
    expect(usage!.fallbackPath.map((a) => [a.provider, a.outcome])).toEqual([
      ["openai", "rate_limited"],
      ["gemini", "ok"],
    ]);
  });

  it("answers with the published version while a draft is pending, and with the draft only when the message asks", async () => {
    // Version 1 (published, the fixture's) has no policy of its own: the tenant's default, gpt-4o-mini.
    const graph = await makeTenant({ agent: { currentVersion: 2, publishedVersion: 1, modelPolicy: { candidates: [flash], rules: [] } } });
    expect(await processInboundMessage(deps, inbound(graph, "150", "live?"))).toBe("replied");
    expect(telegram.sent("150").map((m) => m.text)).toEqual(["(gpt-4o-mini) You asked: live?"]);
    expect(await processInboundMessage(deps, { ...inbound(graph, "151", "draft?"), agentVersion: "draft" })).toBe("replied");
    expect(telegram.sent("151").map((m) => m.text)).toEqual(["(gemini-2.0-flash) You asked: draft?"]);
    expect((await usageOf(graph)).map((u) => [u.agentVersion, u.model])).toEqual([
      [1, "gpt-4o-mini"],
      [2, "gemini-2.0-flash"],
    ]);
  });

  it("sends the message to retry when every candidate fails, and apologises on the last receive; nothing is sent twice", async () => {
    const graph = await makeTenant();
    const message = inbound(graph, "200", "are you there?");
    openai.failNext(1_000, 500);
    gemini.failNext(1_000, 500);
    try {
      await expect(processInboundMessage(deps, message, { receiveCount: 1, maxReceives: 5 })).rejects.toBeInstanceOf(AllModelsFailedError);
      await expect(processInboundMessage(deps, message, { receiveCount: 4, maxReceives: 5 })).rejects.toBeInstanceOf(AllModelsFailedError);
      expect(telegram.sent("200")).toEqual([]);
      expect(await usageOf(graph)).toEqual([]);
      const stored = await admin.db
        .select()
        .from(messages)
        .where(and(eq(messages.tenantId, graph.tenant.id), eq(messages.direction, "inbound")));
      expect(stored.filter((m) => m.content === "are you there?")).toHaveLength(1);

      expect(await processInboundMessage(deps, message, { receiveCount: 5, maxReceives: 5 })).toBe("replied");
      expect(telegram.sent("200").map((m) => m.text)).toEqual([ALL_MODELS_FAILED_REPLY]);
      const [usage] = await usageOf(graph);
      expect(usage).toMatchObject({ outcome: "all_failed", provider: "none", costNanoUsd: 0 });
      expect(usage!.fallbackPath.map((a) => a.outcome)).toEqual(["error", "error"]);
    } finally {
      openai.failNext(0, 500);
      gemini.failNext(0, 500);
    }
    expect(await processInboundMessage(deps, message, { receiveCount: 6, maxReceives: 5 })).toBe("already_replied");
    expect(telegram.sent("200")).toHaveLength(1);
  });

  it("answers with the tenant's message past the hard limit, calls no model and raises one alert", async () => {
    const graph = await makeTenant({ settings: { budget: { monthlyLimitUsd: 1, hardLimitMessage: "We are closed for this month." } } });
    await admin.db.insert(usageRecords).values({
      tenantId: graph.tenant.id,
      model: "gpt-4o-mini",
      provider: "openai",
      inputTokens: 1,
      outputTokens: 1,
      latencyMs: 1,
      costNanoUsd: 1_000_000_000,
    });
    const before = openai.requests.length + gemini.requests.length;
    await processInboundMessage(deps, inbound(graph, "300", "one"));
    await processInboundMessage(deps, inbound(graph, "300", "two"));
    expect(telegram.sent("300").map((m) => m.text)).toEqual(["We are closed for this month.", "We are closed for this month."]);
    expect(openai.requests.length + gemini.requests.length).toBe(before);
    const raised = await admin.db.select().from(alerts).where(eq(alerts.tenantId, graph.tenant.id));
    expect(raised).toHaveLength(2); // the fixture's own alert and one budget alert for the month
    expect(raised.filter((alert) => alert.kind === "budget.hard_limit")).toHaveLength(1);
    expect((await usageOf(graph)).filter((u) => u.outcome === "budget_blocked")).toHaveLength(2);
  });

  it("past the plan's monthly conversations answers new ones with the tenant's message, stores them, and alerts once", async () => {
    const graph = await makeTenant({ settings: { planLimitMessage: "Our assistant is resting until next month." } });
    // The fixture's usage record counts in the month's running totals: start this tenant's month at zero.
    await admin.db.delete(usageRecords).where(eq(usageRecords.tenantId, graph.tenant.id));
    await admin.db.delete(usageMonths).where(eq(usageMonths.tenantId, graph.tenant.id));
    await admin.db.delete(usageMonthConversations).where(eq(usageMonthConversations.tenantId, graph.tenant.id));
    const limits = {
      conversationsPerMonth: 2,
      modelTokensPerMonth: null,
      agents: null,
      channels: null,
      seats: null,
      knowledgeMegabytes: null,
    };
    await admin.db
      .update(tenants)
      .set({ plan: "free", planLimits: { ...limits, modules: { integrations: false, voice: false } } })
      .where(eq(tenants.id, graph.tenant.id));
    expect(await processInboundMessage(deps, inbound(graph, "310", "first"))).toBe("replied");
    expect(await processInboundMessage(deps, inbound(graph, "311", "second"))).toBe("replied");
    const before = openai.requests.length + gemini.requests.length;
    expect(await processInboundMessage(deps, inbound(graph, "312", "third"))).toBe("replied");
    expect(telegram.sent("312").map((m) => m.text)).toEqual(["Our assistant is resting until next month."]);
    expect(openai.requests.length + gemini.requests.length).toBe(before);
    // Nothing is lost: the person's message is in the conversation (and the inbox).
    const stored = await admin.db
      .select()
      .from(messages)
      .where(eq(messages.conversationId, (await conversationOf(graph, "312")).id));
    expect(stored.map((m) => [m.direction, m.content])).toEqual([
      ["inbound", "third"],
      ["outbound", "Our assistant is resting until next month."],
    ]);
    // A conversation already answered this month goes on.
    await processInboundMessage(deps, inbound(graph, "310", "more"));
    expect(telegram.sent("310").at(-1)!.text).toContain("more");
    expect((await usageOf(graph)).map((u) => u.outcome)).toEqual(["answered", "answered", "plan_limited", "answered"]);
    const raised = await admin.db.select().from(alerts).where(eq(alerts.tenantId, graph.tenant.id));
    expect(raised.filter((alert) => alert.kind.startsWith("plan."))).toEqual([
      expect.objectContaining({
        kind: "plan.usage_100",
        details: expect.objectContaining({ limit: "conversationsPerMonth", allowed: 2, percent: 100 }),
      }),
    ]);
  });

  it("switches to the cheapest candidate past the soft limit", async () => {
    const graph = await makeTenant({ settings: { budget: { monthlyLimitUsd: 1, softLimitRatio: 0.5 } } });
    await admin.db.insert(usageRecords).values({
      tenantId: graph.tenant.id,
      model: "gpt-4o-mini",
      provider: "openai",
      inputTokens: 1,
      outputTokens: 1,
      latencyMs: 1,
      costNanoUsd: 600_000_000,
    });
    await processInboundMessage(deps, inbound(graph, "400", "cheap please"));
    expect(telegram.sent("400").map((m) => m.text)).toEqual(["(gemini-2.0-flash) You asked: cheap please"]);
    const usage = (await usageOf(graph)).at(-1)!;
    expect(usage.selection).toMatchObject({ budget: "soft_limit", chain: ["gemini:gemini-2.0-flash", "openai:gpt-4o-mini"] });
    expect(
      await admin.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.tenantId, graph.tenant.id), eq(alerts.kind, "budget.soft_limit"))),
    ).toHaveLength(1);
  });

  it("keeps a summary with the conversation once the memory window overflows, and sends only newer turns", async () => {
    const graph = await makeTenant({ agent: { memoryWindow: 2, modelPolicy: { candidates: [mini], rules: [] } } });
    for (const text of ["first", "second"]) await processInboundMessage(deps, inbound(graph, "500", text));
    expect((await conversationOf(graph, "500")).summary).toBeNull();
    // History is now 4 messages > window 2: the older ones are folded into the summary.
    await processInboundMessage(deps, inbound(graph, "500", "third"));
    const conversation = await conversationOf(graph, "500");
    expect(conversation.summary).toContain("User: first");
    expect(conversation.summaryThrough).not.toBeNull();
    const reply = openai.requests.at(-1)!.body.messages;
    expect(JSON.stringify(reply[0])).toContain("Summary of the earlier conversation");
    expect(reply.slice(1).map((m) => m.content)).toEqual(["second", "(gpt-4o-mini) You asked: second", "third"]);
    const usage = (await usageOf(graph)).at(-1)!;
    expect(usage.fallbackPath.map((a) => a.purpose)).toEqual(["summary", "reply"]);

    await processInboundMessage(deps, inbound(graph, "500", "fourth"));
    const next = openai.requests.at(-1)!.body.messages;
    expect(next.slice(1).map((m) => m.content)).toEqual(["third", "(gpt-4o-mini) You asked: third", "fourth"]);
  });

  it("understands /reset and /human: a handed-off conversation gets no answer until released", async () => {
    const graph = await makeTenant({ agent: { modelPolicy: { candidates: [mini], rules: [] } } });
    await processInboundMessage(deps, inbound(graph, "600", "remember me"));
    expect(await processInboundMessage(deps, inbound(graph, "600", "/reset"))).toBe("replied");
    await processInboundMessage(deps, inbound(graph, "600", "fresh start"));
    expect(
      openai.requests
        .at(-1)!
        .body.messages.slice(1)
        .map((m) => m.content),
    ).toEqual(["fresh start"]);

    expect(await processInboundMessage(deps, inbound(graph, "600", "/human"))).toBe("replied");
    const requests = openai.requests.length;
    expect(await processInboundMessage(deps, inbound(graph, "600", "hello? anyone?"))).toBe("handed_off");
    expect(openai.requests.length).toBe(requests);
    expect(telegram.sent("600").map((m) => m.text)).toEqual([
      "(gpt-4o-mini) You asked: remember me",
      COMMAND_REPLIES.reset,
      "(gpt-4o-mini) You asked: fresh start",
      COMMAND_REPLIES.handoff,
    ]);

    const conversation = await conversationOf(graph, "600");
    expect(conversation.status).toBe("handed_off");
    await runAsMember(app.db, graph, releaseConversation, { conversationId: conversation.id });
    expect(await processInboundMessage(deps, inbound(graph, "600", "back again"))).toBe("replied");
    expect(telegram.sent("600").at(-1)!.text).toBe("(gpt-4o-mini) You asked: back again");
    expect(typeof handOffConversation).toBe("function");
  });

  it("uses the tenant's own sealed provider key before the platform's", async () => {
    const tenantOpenAI = await startFakeOpenAI({ apiKey: "sk-tenant-own" });
    try {
      const graph = buildTenantGraph();
      const sealed = await sealProviderKey(keyring, graph.tenant.id, "openai", "sk-tenant-own");
      const tenantDeps = { ...deps, modelEnv: readModelEnvironment({ OPENAI_BASE_URL: tenantOpenAI.baseUrl }) };
      graph.tenant.settings = { providerKeys: { openai: sealed } };
      Object.assign(graph.rows.agents, { modelPolicy: { candidates: [mini], rules: [] } });
      graph.rows.channels.credentials = await sealCredentials(
        keyring,
        { tenantId: graph.tenant.id, owner: `channel:${graph.rows.channels.id}` },
        { botToken: "555000111:turn-test-bot-token" },
      );
      await insertTenantGraph(admin.db, graph);
      await processInboundMessage(tenantDeps, inbound(graph, "700", "my key"));
      expect(tenantOpenAI.requests.map((r) => r.authorization)).toEqual(["Bearer sk-tenant-own"]);
      const [stored] = await admin.db.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, graph.tenant.id));
      expect(JSON.stringify(stored)).not.toContain("sk-tenant-own");
    } finally {
      await tenantOpenAI.close();
    }
  });

  it("keeps the seeded offline default when no key is configured", async () => {
    const graph = await makeTenant({ agent: { modelPolicy: null } });
    await processInboundMessage({ ...deps, modelEnv: readModelEnvironment({}) }, inbound(graph, "800", "offline?"));
    expect(telegram.sent("800")[0]!.text).toMatch(/^\[offline model\]/);
    const [usage] = await usageOf(graph);
    expect(usage).toMatchObject({ provider: "offline", model: "offline-echo-1" });
    expect(usage!.selection?.skipped).toEqual(["openai:gpt-4o-mini: not configured"]);
    await admin.db.update(channels).set({ status: "paused" }).where(eq(channels.id, graph.rows.channels.id!));
  });
});
