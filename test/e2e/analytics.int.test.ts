import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { createTransport } from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshTenantRollups } from "../../core/analytics/rollup";
import { verifyWebhookSignature } from "../../core/alerts/signature";
import { parseKeyring } from "../../core/crypto/secrets";
import { budgetMonth } from "../../core/engine/budget";
import { createSafeFetch } from "../../core/http/safe-fetch";
import { createLogger } from "../../core/observability/log";
import { agents, alertRules, alerts, channels, conversations, messages, tenants, usageRecords, type NewUsageRecord } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { runAlerting } from "../../workers/pool/alerts";
import { startFakeSmtp, type FakeSmtp } from "../fakes/smtp";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { startAdminApiHarness, type AdminApiHarness } from "../support/admin-api";

/**
 * The analytics API over a seeded history with figures worked out by hand, served from the
 * rollups the pool's job builds; and tenant alert rules end to end: CRUD through the API,
 * evaluation, a signed webhook to a loopback receiver and email through a loopback SMTP server.
 */
let h: AdminApiHarness;
let a: AccessTenant;
let b: AccessTenant;
let smtp: FakeSmtp;
let receiver: Server;
let receiverPort: number;
const hooks: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
const channelB = randomUUID();
const agentB = randomUUID();
const convs = { c1: randomUUID(), c2: randomUUID(), c3: randomUUID() };

const at = (iso: string) => new Date(iso);

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      hooks.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverPort = (receiver.address() as AddressInfo).port;
  smtp = await startFakeSmtp();
  h = await startAdminApiHarness({ ALERTS_WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiverPort}` });
  a = await createAccessTenant(h.admin.db);
  b = await createAccessTenant(h.admin.db);
  await seedHistory();
  for (const tenant of [a, b])
    await withTenant(h.admin.db, tenant.tenantId, (tx) => refreshTenantRollups(tx, tenant.tenantId, new Date(0)));
});

afterAll(async () => {
  await h?.stop();
  await smtp?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function seedHistory() {
  const db = h.admin.db;
  const t = a.tenantId;
  await db
    .update(tenants)
    .set({ settings: { allowedOrigins: [], budget: { monthlyLimitUsd: 10, softLimitRatio: 0.8, hardLimitMessage: "Over budget." } } })
    .where(eq(tenants.id, t));
  await db.insert(agents).values({ id: agentB, tenantId: t, name: "Second agent", systemPrompt: "Hi." });
  await db.insert(channels).values({ id: channelB, tenantId: t, agentId: agentB, kind: "telegram", name: "Second bot" });
  await db.insert(conversations).values([
    { id: convs.c1, tenantId: t, channelId: a.channelId, agentId: a.agentId, externalKey: "chat-1", createdAt: at("2026-01-10T09:05:00Z") },
    {
      id: convs.c2,
      tenantId: t,
      channelId: a.channelId,
      agentId: a.agentId,
      externalKey: "chat-2",
      createdAt: at("2026-01-10T10:10:00Z"),
      status: "handed_off",
      handedOffAt: at("2026-01-10T10:20:00.200Z"),
    },
    { id: convs.c3, tenantId: t, channelId: channelB, agentId: agentB, externalKey: "chat-3", createdAt: at("2026-01-11T08:00:00Z") },
  ]);
  // [conversation, channel, sender, received, reply created, reply sent (null: failed), usage]
  const turns: Array<[string, string, string, string, string, string | null, Omit<NewUsageRecord, "tenantId"> | null]> = [
    [
      convs.c1,
      a.channelId,
      "u1",
      "2026-01-10T09:05:00Z",
      "2026-01-10T09:05:01Z",
      "2026-01-10T09:05:01.200Z",
      {
        model: "gpt-4o-mini",
        provider: "openai",
        inputTokens: 100,
        outputTokens: 20,
        costNanoUsd: 27_000,
        latencyMs: 1000,
        fallbackPath: [{ provider: "openai", model: "gpt-4o-mini", purpose: "reply", outcome: "ok", latencyMs: 1000 }],
        toolCalls: [{ name: "current_time", ok: true }],
        retrievedChunks: [
          { chunkId: "k1", sourceId: "s", knowledgeBaseId: "kb", score: 0.9 },
          { chunkId: "k2", sourceId: "s", knowledgeBaseId: "kb", score: 0.8 },
        ],
      },
    ],
    [
      convs.c1,
      a.channelId,
      "u1",
      "2026-01-10T09:30:00Z",
      "2026-01-10T09:30:00.300Z",
      "2026-01-10T09:30:00.400Z",
      {
        model: "gemini-2.0-flash",
        provider: "gemini",
        inputTokens: 200,
        outputTokens: 50,
        costNanoUsd: 40_000,
        latencyMs: 300,
        fallbackPath: [
          { provider: "openai", model: "gpt-4o-mini", purpose: "reply", outcome: "timeout", latencyMs: 200 },
          { provider: "gemini", model: "gemini-2.0-flash", purpose: "reply", outcome: "ok", latencyMs: 100 },
        ],
        toolCalls: [
          { name: "current_time", ok: true },
          { name: "crm_lookup", ok: false },
        ],
      },
    ],
    [
      convs.c2,
      a.channelId,
      "u2",
      "2026-01-10T10:10:00Z",
      "2026-01-10T10:10:02Z",
      "2026-01-10T10:10:03Z",
      { model: "gpt-4o-mini", provider: "openai", inputTokens: 300, outputTokens: 100, costNanoUsd: 105_000, latencyMs: 2500 },
    ],
    [convs.c2, a.channelId, "u2", "2026-01-10T10:20:00Z", "2026-01-10T10:20:00.050Z", "2026-01-10T10:20:00.100Z", null],
    [
      convs.c3,
      channelB,
      "u3",
      "2026-01-11T08:00:00Z",
      "2026-01-11T08:00:01Z",
      null,
      {
        model: "none",
        provider: "none",
        inputTokens: 0,
        outputTokens: 0,
        costNanoUsd: 0,
        latencyMs: 0,
        outcome: "all_failed",
        fallbackPath: [{ provider: "openai", model: "gpt-4o-mini", purpose: "reply", outcome: "error", latencyMs: 0 }],
      },
    ],
  ];
  for (const [index, [conversationId, channelId, sender, received, created, sent, usage]] of turns.entries()) {
    const [inbound] = await db
      .insert(messages)
      .values({
        tenantId: t,
        conversationId,
        channelId,
        direction: "inbound",
        providerMessageId: `p${index}`,
        status: "received",
        content: "hello",
        sender: { id: sender },
        createdAt: at(received),
      })
      .returning();
    const [reply] = await db
      .insert(messages)
      .values({
        tenantId: t,
        conversationId,
        channelId,
        direction: "outbound",
        replyToMessageId: inbound!.id,
        status: sent ? "sent" : "failed",
        content: "hi",
        createdAt: at(created),
        ...(sent ? { sentAt: at(sent) } : {}),
      })
      .returning();
    if (usage)
      await db.insert(usageRecords).values({
        ...usage,
        tenantId: t,
        conversationId,
        messageId: reply!.id,
        agentId: channelId === channelB ? agentB : a.agentId,
        createdAt: at(created),
      });
  }
  // This month: $2 of a $10 budget (one hour into the month, UTC).
  await db.insert(usageRecords).values({
    tenantId: t,
    conversationId: convs.c1,
    agentId: a.agentId,
    model: "gpt-4o",
    provider: "openai",
    inputTokens: 1,
    outputTokens: 1,
    costNanoUsd: 2_000_000_000,
    latencyMs: 10,
    createdAt: new Date(budgetMonth(new Date()).start.getTime() + 3_600_000),
  });
  // Another tenant's traffic in the same hours must never show up in A's figures.
  await db.insert(messages).values({
    tenantId: b.tenantId,
    conversationId: b.conversationId,
    channelId: b.channelId,
    direction: "inbound",
    providerMessageId: "b1",
    status: "received",
    content: "other tenant",
    sender: { id: "b-user" },
    createdAt: at("2026-01-10T09:10:00Z"),
  });
}

const get = async (path: string, token = a.apiKeys.viewer.key) => {
  const response = await h.call(path, { token });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const JAN = "from=2026-01-10T00:00:00Z&to=2026-01-12T00:00:00Z";

describe("analytics API", () => {
  it("summary: totals over the range, from the rollups", async () => {
    const { status, body } = await get(`/v1/analytics/summary?${JAN}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      from: "2026-01-10T00:00:00.000Z",
      to: "2026-01-12T00:00:00.000Z",
      messagesIn: 5,
      messagesOut: 4,
      conversationsStarted: 3,
      activeEndUsers: 3,
      handoffs: 1,
      // Inbound received → reply sent: 1200, 400, 3000 and 100 ms. The 2nd of 4 (the median) is in the
      // ≤ 500 ms bucket; the 4th of 4 (95th and 99th percentiles) in the ≤ 3000 ms one.
      avgResponseMs: 1175,
      p50ResponseMs: 500,
      p95ResponseMs: 3000,
      p99ResponseMs: 3000,
      turns: 4,
      inputTokens: 600,
      outputTokens: 170,
      costUsd: 0.000172,
      sendFailures: 1,
      failedTurns: 1,
      errorRate: 0.5,
      fallbacks: 1,
      budgetBlocked: 0,
      avgModelLatencyMs: 1267,
      toolCalls: 3,
      toolFailures: 1,
      knowledgeHits: 2,
    });
  });

  it("summary filtered by channel and agent", async () => {
    const byChannel = await get(`/v1/analytics/summary?${JAN}&channelId=${channelB}`);
    expect(byChannel.body).toMatchObject({
      messagesIn: 1,
      messagesOut: 0,
      sendFailures: 1,
      turns: 1,
      failedTurns: 1,
      activeEndUsers: 1,
      avgResponseMs: null,
      p50ResponseMs: null,
      p95ResponseMs: null,
      p99ResponseMs: null,
    });
    const byAgent = await get(`/v1/analytics/summary?${JAN}&agentId=${a.agentId}`);
    expect(byAgent.body).toMatchObject({ messagesIn: 4, messagesOut: 4, turns: 3, activeEndUsers: 2, handoffs: 1 });
  });

  it("timeseries by hour, zero-filled", async () => {
    const { status, body } = await get("/v1/analytics/timeseries?from=2026-01-10T09:00:00Z&to=2026-01-10T12:00:00Z&granularity=hour");
    expect(status).toBe(200);
    const points = body.points as Array<Record<string, unknown>>;
    expect(points.map((p) => p.start)).toEqual(["2026-01-10T09:00:00.000Z", "2026-01-10T10:00:00.000Z", "2026-01-10T11:00:00.000Z"]);
    expect(points[0]).toEqual({
      start: "2026-01-10T09:00:00.000Z",
      messagesIn: 2,
      messagesOut: 2,
      conversationsStarted: 1,
      activeEndUsers: 1,
      handoffs: 0,
      // 1200 and 400 ms: the 1st of 2 (median) is in the ≤ 500 ms bucket, the 2nd in the ≤ 2000 ms one.
      avgResponseMs: 800,
      p50ResponseMs: 500,
      p95ResponseMs: 2000,
      p99ResponseMs: 2000,
      turns: 2,
      inputTokens: 300,
      outputTokens: 70,
      costUsd: 0.000067,
    });
    expect(points[1]).toMatchObject({
      messagesIn: 2,
      messagesOut: 2,
      conversationsStarted: 1,
      activeEndUsers: 1,
      handoffs: 1,
      avgResponseMs: 1550,
      p50ResponseMs: 250,
      p95ResponseMs: 3000,
      p99ResponseMs: 3000,
      turns: 1,
      costUsd: 0.000105,
    });
    expect(points[2]).toMatchObject({ messagesIn: 0, turns: 0, avgResponseMs: null, p50ResponseMs: null, p99ResponseMs: null, costUsd: 0 });
  });

  it("timeseries by day, one series per channel", async () => {
    const { body } = await get(`/v1/analytics/timeseries?${JAN}&granularity=day&groupBy=channel`);
    const points = body.points as Array<{ start: string; channelId: string; messagesIn: number; conversationsStarted: number }>;
    expect(points).toHaveLength(4);
    const find = (day: string, channelId: string) => points.find((p) => p.start.startsWith(day) && p.channelId === channelId);
    expect(find("2026-01-10", a.channelId)).toMatchObject({ messagesIn: 4, conversationsStarted: 2 });
    expect(find("2026-01-11", channelB)).toMatchObject({ messagesIn: 1, conversationsStarted: 1 });
    expect(find("2026-01-10", channelB)).toMatchObject({ messagesIn: 0 });
  });

  it("tokens and cost by model, tool usage, budget consumption", async () => {
    const models = await get(`/v1/analytics/models?${JAN}`);
    expect(models.body.data).toEqual([
      {
        provider: "openai",
        model: "gpt-4o-mini",
        turns: 2,
        failedTurns: 0,
        fallbacks: 0,
        inputTokens: 400,
        outputTokens: 120,
        costUsd: 0.000132,
        avgLatencyMs: 1750,
      },
      {
        provider: "gemini",
        model: "gemini-2.0-flash",
        turns: 1,
        failedTurns: 0,
        fallbacks: 1,
        inputTokens: 200,
        outputTokens: 50,
        costUsd: 0.00004,
        avgLatencyMs: 300,
      },
    ]);
    const tools = await get(`/v1/analytics/tools?${JAN}`);
    expect(tools.body.data).toEqual([
      { tool: "current_time", calls: 2, failures: 0 },
      { tool: "crm_lookup", calls: 1, failures: 1 },
    ]);
    const budget = await get("/v1/analytics/budget");
    expect(budget.body).toMatchObject({
      month: budgetMonth(new Date()).key,
      monthlyLimitUsd: 10,
      spentUsd: 2,
      usedRatio: 0.2,
      state: "normal",
      alerts: [],
    });
    expect(budget.body.daily).toEqual([{ date: budgetMonth(new Date()).start.toISOString().slice(0, 10), costUsd: 2 }]);
  });

  it("another tenant sees only its own figures", async () => {
    const { body } = await get(`/v1/analytics/summary?${JAN}`, b.apiKeys.viewer.key);
    expect(body).toMatchObject({ messagesIn: 1, turns: 0, activeEndUsers: 1 });
  });

  it("bad ranges and parameters: 400 with a stable code", async () => {
    expect((await get("/v1/analytics/timeseries?granularity=minute")).body).toMatchObject({ error: { code: "INVALID_QUERY" } });
    expect((await get("/v1/analytics/summary?from=yesterday")).body).toMatchObject({ error: { code: "INVALID_QUERY" } });
    const reversed = await get("/v1/analytics/summary?from=2026-01-12T00:00:00Z&to=2026-01-10T00:00:00Z");
    expect(reversed.status).toBe(400);
    expect(reversed.body).toMatchObject({ error: { code: "INVALID_REQUEST" } });
    const tooLong = await get("/v1/analytics/timeseries?from=2025-01-01T00:00:00Z&to=2025-03-01T00:00:00Z&granularity=hour");
    expect(tooLong.status).toBe(400);
  });
});

describe("tenant alert rules", () => {
  let webhookSecret: string;

  it("refuse webhook targets that are not public HTTPS", async () => {
    for (const url of [
      "http://hooks.example.com/x",
      "https://127.0.0.1/x",
      "https://10.0.0.8/x",
      "https://[::1]/x",
      "ftp://example.com/x",
    ]) {
      const response = await h.call("/v1/alerts", {
        method: "POST",
        token: a.apiKeys.admin.key,
        body: { name: "x", condition: { kind: "no_traffic", windowMinutes: 30 }, delivery: { channel: "webhook", url } },
      });
      expect(response.status, url).toBe(400);
    }
    const badCondition = await h.call("/v1/alerts", {
      method: "POST",
      token: a.apiKeys.admin.key,
      body: {
        name: "x",
        condition: { kind: "error_rate", threshold: 2, windowMinutes: 30 },
        delivery: { channel: "email", to: ["a@example.test"] },
      },
    });
    expect(badCondition.status).toBe(400);
    expect(await badCondition.json()).toMatchObject({ error: { code: "INVALID_BODY" } });
  });

  it("create, read, update and delete; the signing secret is shown once and audited without it", async () => {
    const created = await h.call("/v1/alerts", {
      method: "POST",
      token: a.apiKeys.admin.key,
      body: {
        name: "Spend spike",
        condition: { kind: "cost_over", thresholdUsd: 1, windowMinutes: 60 },
        delivery: { channel: "webhook", url: `http://127.0.0.1:${receiverPort}/hook` },
      },
    });
    expect(created.status).toBe(201);
    const rule = (await created.json()) as { id: string; signingSecret: string; state: string };
    expect(rule.signingSecret).toMatch(/^whsec_/);
    expect(rule.state).toBe("ok");
    webhookSecret = rule.signingSecret;

    const fetched = await h.call(`/v1/alerts/${rule.id}`, { token: a.apiKeys.viewer.key });
    const text = await fetched.text();
    expect(fetched.status).toBe(200);
    expect(text).not.toContain(webhookSecret);
    expect(text).not.toContain("signingSecret");
    const [stored] = await h.admin.db.select().from(alertRules).where(eq(alertRules.id, rule.id));
    expect(stored!.secretSealed).not.toContain(webhookSecret.slice(6));

    const audit = await h.call(`/v1/audit-log?resourceType=alert_rule&resourceId=${rule.id}`, { token: a.apiKeys.admin.key });
    expect(await audit.text()).not.toContain(webhookSecret);

    for (const body of [
      {
        name: "Errors",
        condition: { kind: "error_rate", threshold: 0.2, minTurns: 2, windowMinutes: 60 },
        delivery: { channel: "email", to: ["oncall@example.test"] },
      },
      {
        name: "Silence",
        condition: { kind: "no_traffic", windowMinutes: 5 },
        delivery: { channel: "email", to: ["oncall@example.test", "boss@example.test"] },
      },
      { name: "Temporary", condition: { kind: "no_traffic", windowMinutes: 5 }, delivery: { channel: "email", to: ["x@example.test"] } },
    ]) {
      expect((await h.call("/v1/alerts", { method: "POST", token: a.apiKeys.admin.key, body })).status).toBe(201);
    }
    const list = (await (await h.call("/v1/alerts", { token: a.apiKeys.viewer.key })).json()) as {
      data: Array<{ id: string; name: string }>;
    };
    expect(list.data.map((r) => r.name).slice(0, 4)).toEqual(["Temporary", "Silence", "Errors", "Spend spike"]);
    const temporary = list.data[0]!.id;
    const patched = await h.call(`/v1/alerts/${temporary}`, { method: "PATCH", token: a.apiKeys.admin.key, body: { enabled: false } });
    expect(await patched.json()).toMatchObject({ enabled: false });
    expect((await h.call(`/v1/alerts/${temporary}`, { method: "DELETE", token: a.apiKeys.admin.key })).status).toBe(204);
    expect((await h.call(`/v1/alerts/${temporary}`, { token: a.apiKeys.admin.key })).status).toBe(404);
    // The editor reads analytics but does not manage alerts.
    const editor = await h.call("/v1/alerts", { method: "POST", token: a.apiKeys.editor.key, body: {} });
    expect(editor.status).toBe(403);
  });

  it("fire once when their condition starts holding, delivered to a signed webhook and by email", async () => {
    const t = a.tenantId;
    const now = Date.now();
    // The last hour: $2 spent (over the $1 rule), 1 of 2 turns failed (over 20%), and no inbound message.
    await h.admin.db.insert(usageRecords).values([
      {
        tenantId: t,
        conversationId: convs.c1,
        model: "gpt-4o",
        provider: "openai",
        inputTokens: 1,
        outputTokens: 1,
        costNanoUsd: 2_000_000_000,
        latencyMs: 5,
        createdAt: new Date(now - 10 * 60_000),
      },
      {
        tenantId: t,
        conversationId: convs.c1,
        model: "none",
        provider: "none",
        inputTokens: 0,
        outputTokens: 0,
        latencyMs: 0,
        outcome: "all_failed",
        createdAt: new Date(now - 5 * 60_000),
      },
    ]);
    // "Silence" has existed for longer than its window.
    await h.admin.db
      .update(alertRules)
      .set({ createdAt: new Date(now - 3_600_000) })
      .where(eq(alertRules.name, "Silence"));

    const deps = {
      db: h.admin.db,
      keyring: parseKeyring(h.stack.keys.SECRETS_KEYRING),
      safeFetch: createSafeFetch({ allowedHosts: [`127.0.0.1:${receiverPort}`] }),
      mailer: createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true }),
      emailFrom: "alerts@platform.test",
      logger: createLogger({ service: "test" }, "error"),
    };
    const first = await runAlerting(deps);
    expect(first).toMatchObject({ fired: 3, delivered: 3 });

    expect(hooks).toHaveLength(1);
    const hook = hooks[0]!;
    expect(await verifyWebhookSignature(webhookSecret, String(hook.headers["x-agent-signature"]), hook.body)).toBe(true);
    const payload = JSON.parse(hook.body) as Record<string, unknown>;
    expect(payload).toMatchObject({
      type: "alert.fired",
      tenantId: t,
      rule: { name: "Spend spike", kind: "cost_over" },
      threshold: 1,
      windowMinutes: 60,
    });
    expect(payload.value).toBeGreaterThanOrEqual(2);
    expect(hook.headers["x-agent-delivery"]).toBe(payload.id);

    const mails = smtp.received();
    expect(mails.map((m) => m.to.join(",")).sort()).toEqual(["oncall@example.test", "oncall@example.test,boss@example.test"]);
    expect(mails.find((m) => m.raw.includes("[alert] Errors"))?.raw).toContain("error rate");
    expect(mails.every((m) => m.from === "alerts@platform.test")).toBe(true);

    const rows = await h.admin.db.select().from(alerts).where(eq(alerts.tenantId, t));
    expect(
      rows
        .filter((r) => r.ruleId)
        .map((r) => [r.kind, r.deliveryStatus])
        .sort(),
    ).toEqual([
      ["rule.cost_over", "delivered"],
      ["rule.error_rate", "delivered"],
      ["rule.no_traffic", "delivered"],
    ]);

    // Still firing: no second notification.
    const second = await runAlerting(deps);
    expect(second).toMatchObject({ fired: 0, delivered: 0 });
    expect(hooks).toHaveLength(1);
    const states = await h.admin.db
      .select({ name: alertRules.name, state: alertRules.state })
      .from(alertRules)
      .where(eq(alertRules.tenantId, t));
    expect(Object.fromEntries(states.map((s) => [s.name, s.state]))).toMatchObject({
      "Spend spike": "firing",
      Errors: "firing",
      Silence: "firing",
    });
  });

  it("email the plan's usage alerts to the tenant's admins, once", async () => {
    // As a turn raises it (workers/pool/turn/decide.ts).
    await h.admin.db.insert(alerts).values({
      tenantId: a.tenantId,
      kind: "plan.usage_80",
      dedupeKey: "2026-12:conversationsPerMonth",
      deliveryStatus: "pending",
      details: { plan: "free", limit: "conversationsPerMonth", allowed: 100, used: 80, percent: 80 },
    });
    const deps = {
      db: h.admin.db,
      keyring: parseKeyring(h.stack.keys.SECRETS_KEYRING),
      safeFetch: createSafeFetch({}),
      mailer: createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true }),
      emailFrom: "alerts@platform.test",
      logger: createLogger({ service: "test" }, "error"),
    };
    const before = smtp.received().length;
    expect((await runAlerting(deps)).delivered).toBe(1);
    const mail = smtp.received().slice(before);
    expect(mail.map((m) => m.to)).toEqual([[a.users.admin.email]]);
    expect(mail[0]!.raw).toContain("[plan] 80% of your plan's conversations this month");
    expect(mail[0]!.raw).toContain("allows 100 conversations this month; 80 are used");
    expect((await runAlerting(deps)).delivered).toBe(0);
    const [row] = await h.admin.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.tenantId, a.tenantId), eq(alerts.kind, "plan.usage_80")));
    expect(row!.deliveryStatus).toBe("delivered");
  });
});
