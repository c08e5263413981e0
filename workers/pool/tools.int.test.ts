import { inboundTextMessage } from "../../test/support/telegram";
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseKeyring, sealCredentials } from "../../core/crypto/secrets";
import { createSafeFetch } from "../../core/http/safe-fetch";
import { readModelEnvironment } from "../../core/engine/providers";
import { createLogger } from "../../core/observability/log";
import { checkToolDefinition, createToolInput, type AuthConfig, type CreateToolInput } from "../../core/tools/definition";
import { OAuthTokenCache } from "../../core/tools/execute";
import { createPoolDb } from "../../db/client";
import { buildTenantGraph, insertTenantGraph, type TenantGraph } from "../../db/fixtures";
import { agents, agentTestRuns, conversations, knowledgeSources, messages, toolApprovals, tools, usageRecords } from "../../db/schema";
import { conversationTestCase } from "../../core/agents";
import { withTenant } from "../../db/tenant";
import type { TestRunResults } from "../../core/agents/test-results";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fakes/openai";
import { startFakeTelegram, type FakeTelegram } from "../../test/fakes/telegram";
import { startFakeToolService, TOOL_SERVICE_SECRETS, type FakeToolService } from "../../test/fakes/tool-service";
import { createTestDatabase, type TestDatabase } from "../../test/support/database";
import { processInboundMessage, type TurnDependencies } from "./handlers";
import { runAgentTestSuite } from "./test-runs";

/** Real turns (processInboundMessage) where the OpenAI fake calls a tenant HTTP tool on a loopback service. */
const keyring = parseKeyring(`k1:${Buffer.alloc(32, 7).toString("base64")}`);
let database: TestDatabase;
let admin: ReturnType<typeof createPoolDb>;
let app: ReturnType<typeof createPoolDb>;
let telegram: FakeTelegram;
let openai: FakeOpenAI;
let service: FakeToolService;
let deps: TurnDependencies;
const logLines: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  admin = createPoolDb(database.adminUrl, { max: 1 });
  app = createPoolDb(database.appUrl, { max: 4 });
  [telegram, openai, service] = await Promise.all([startFakeTelegram(), startFakeOpenAI({ apiKey: "sk-tools" }), startFakeToolService()]);
  // Capture every log line the turn writes, to prove no secret reaches a log.
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void logLines.push(String(line)));
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void logLines.push(String(line)));
  deps = {
    db: app.db,
    keyring,
    telegramApiBase: telegram.url,
    whatsappApiBase: "http://127.0.0.1:9/v21.0", // no WhatsApp channel here: loopback, never called
    modelEnv: readModelEnvironment({ OPENAI_API_KEY: "sk-tools", OPENAI_BASE_URL: openai.baseUrl, MODEL_TIMEOUT_MS: "5000" }),
    logger: createLogger({ test: "tools" }, "info"),
    // The loopback service is reachable only because this test names it.
    tools: { fetch: createSafeFetch({ allowedHosts: [service.hostPort] }), tokens: new OAuthTokenCache() },
  };
});

afterAll(async () => {
  vi.restoreAllMocks();
  await Promise.all([telegram?.close(), openai?.close(), service?.close()]);
  await app?.close();
  await admin?.close();
  await database?.close();
});

const AUTHS: Record<string, AuthConfig> = {
  none: { type: "none" },
  "apikey-header": { type: "api_key", in: "header", name: "X-API-Key", value: TOOL_SERVICE_SECRETS.apiKey },
  "apikey-query": { type: "api_key", in: "query", name: "api_key", value: TOOL_SERVICE_SECRETS.apiKey },
  bearer: { type: "bearer", token: TOOL_SERVICE_SECRETS.bearer },
  basic: { type: "basic", username: TOOL_SERVICE_SECRETS.basicUser, password: TOOL_SERVICE_SECRETS.basicPassword },
  oauth: {
    type: "oauth2_client_credentials",
    tokenUrl: "",
    clientId: TOOL_SERVICE_SECRETS.clientId,
    clientSecret: TOOL_SERVICE_SECRETS.clientSecret,
  },
};

/** A tenant whose agent has one HTTP tool `lookup_order` with the given auth, written as the API would. */
async function tenantWithTool(
  kind: keyof typeof AUTHS,
  extra: Partial<CreateToolInput> = {},
): Promise<{ graph: TenantGraph; toolId: string }> {
  const graph = buildTenantGraph();
  const toolId = randomUUID();
  const auth = kind === "oauth" ? { ...AUTHS.oauth!, tokenUrl: `${service.url}/oauth/token` } : AUTHS[kind]!;
  const parsed = createToolInput.parse({
    name: "lookup_order",
    description: "Looks up an order by its number.",
    method: "GET",
    urlTemplate: `${service.url}/${kind}/orders/{orderId}`,
    parameters: { type: "object", properties: { orderId: { type: "integer" }, verbose: { type: "boolean" } }, required: ["orderId"] },
    responseMapping: { path: "order", maxBytes: 500 },
    ...extra,
  });
  const { auth: _auth, enabled: _enabled, ...rest } = parsed;
  const definition = checkToolDefinition(rest, { allowedHosts: [service.hostPort] }, auth);
  Object.assign(graph.rows.agents, {
    modelPolicy: { candidates: [{ provider: "openai", model: "gpt-4o-mini" }], rules: [] },
    toolIds: [toolId],
  });
  graph.rows.channels.credentials = await sealCredentials(
    keyring,
    { tenantId: graph.tenant.id, owner: `channel:${graph.rows.channels.id}` },
    { botToken: "555000222:tools-test-bot-token" },
  );
  await insertTenantGraph(admin.db, graph);
  await admin.db.insert(tools).values({
    id: toolId,
    tenantId: graph.tenant.id,
    ...definition,
    authType: auth.type,
    authConfig: auth.type === "none" ? null : await sealCredentials(keyring, { tenantId: graph.tenant.id, owner: `tool:${toolId}` }, auth),
  });
  return { graph, toolId };
}

const inbound = inboundTextMessage;

const usageOf = async (graph: TenantGraph) =>
  (await admin.db.select().from(usageRecords).where(eq(usageRecords.tenantId, graph.tenant.id)).orderBy(usageRecords.createdAt)).filter(
    (row) => row.provider === "openai",
  );

describe("tenant HTTP tools in a turn", () => {
  it.each(Object.keys(AUTHS))("the model calls the tool (%s auth) and the reply uses its result", async (kind) => {
    const { graph, toolId } = await tenantWithTool(kind);
    const chat = `c-${kind}`;
    const before = service.requests.length;
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 42 } });
    expect(await processInboundMessage(deps, inbound(graph, chat, "where is order 42?"))).toBe("replied");
    const [reply] = telegram.sent(chat);
    expect(reply!.text).toContain("Tool lookup_order said:");
    expect(reply!.text).toContain('"status":"shipped"');
    const called = service.requests.slice(before).filter((r) => r.path.includes("/orders/"));
    expect(called).toHaveLength(1);
    expect(called[0]!.path).toMatch(new RegExp(`^/${kind}/orders/42`));
    const [usage] = await usageOf(graph);
    expect(usage!.toolCalls).toEqual([
      expect.objectContaining({
        name: "lookup_order",
        toolId,
        ok: true,
        outcome: "ok",
        status: 200,
        arguments: { orderId: 42 },
        responseBytes: expect.any(Number),
        latencyMs: expect.any(Number),
      }),
    ]);
    // The model saw the mapped result, never a credential.
    const toolMessage = openai.requests.at(-1)!.body.messages.find((m) => m.role === "tool");
    expect(JSON.stringify(toolMessage)).not.toMatch(/svc-|pet-api/);
  });

  it("OAuth2 tokens are cached until expiry across calls", async () => {
    const { graph } = await tenantWithTool("oauth");
    const issued = service.tokensIssued();
    for (const chat of ["o1", "o2"]) {
      openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 1 } });
      await processInboundMessage(deps, inbound(graph, chat, "order 1?"));
    }
    expect(service.tokensIssued() - issued).toBe(1);
  });

  it("refuses a wrong argument type before any request", async () => {
    const { graph } = await tenantWithTool("none");
    const before = service.requests.length;
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: "forty-two" } });
    expect(await processInboundMessage(deps, inbound(graph, "bad-args", "order?"))).toBe("replied");
    expect(service.requests.length).toBe(before);
    const [usage] = await usageOf(graph);
    expect(usage!.toolCalls).toEqual([expect.objectContaining({ name: "lookup_order", ok: false })]);
  });

  it("refuses at run time a redirect into the internal network", async () => {
    const { graph } = await tenantWithTool("none", {
      urlTemplate: `${service.url}/redirect?to=${encodeURIComponent("http://169.254.169.254/latest/meta-data/")}&id={orderId}`,
      parameterLocations: { orderId: "path" },
      responseMapping: { maxBytes: 500 },
    });
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 5 } });
    await processInboundMessage(deps, inbound(graph, "ssrf", "order 5?"));
    const [usage] = await usageOf(graph);
    expect(usage!.toolCalls[0]).toMatchObject({ ok: false });
  });

  it("does not run a tool that requires approval until an operator approves; the reply asks first", async () => {
    const { graph, toolId } = await tenantWithTool("none", { requiresApproval: true });
    const before = service.requests.length;
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 9 } });
    await processInboundMessage(deps, inbound(graph, "appr", "cancel order 9"));
    expect(telegram.sent("appr").at(-1)!.text).toContain("needs confirmation");
    expect(service.requests.length).toBe(before);
    const [pending] = await admin.db
      .select()
      .from(toolApprovals)
      .where(and(eq(toolApprovals.tenantId, graph.tenant.id), eq(toolApprovals.toolId, toolId)));
    expect(pending).toMatchObject({ status: "pending", arguments: { orderId: 9 } });

    await admin.db
      .update(toolApprovals)
      .set({ status: "approved", decidedBy: "api_key:operator" })
      .where(eq(toolApprovals.id, pending!.id));
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 9 } });
    await processInboundMessage(deps, inbound(graph, "appr", "go ahead"));
    expect(telegram.sent("appr").at(-1)!.text).toContain('"status":"shipped"');
    expect(service.requests.length).toBe(before + 1);
    const [used] = await admin.db.select().from(toolApprovals).where(eq(toolApprovals.id, pending!.id));
    expect(used!.status).toBe("used");
  });

  it("takes only the call's own code as consent: another message is not a yes, a no rejects, and the rejection sticks", async () => {
    const { graph, toolId } = await tenantWithTool("none", { requiresApproval: true });
    const before = service.requests.length;
    const callTool = async (chat: string, text: string) => {
      openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 12 } });
      await processInboundMessage(deps, inbound(graph, chat, text));
      return telegram.sent(chat).at(-1)!.text;
    };
    const asked = await callTool("consent", "refund order 12");
    const code = /CONFIRM ([A-Z2-9]{6})/.exec(asked)?.[1];
    expect(code, asked).toBeTruthy();
    // Not consent: a yes without the code, the code of another request, something else.
    for (const text of ["yes please", "ok", "CONFIRM ABCDEF", `sure ${code} maybe`]) {
      expect(await callTool("consent", text)).toContain("needs confirmation");
    }
    expect(service.requests.length).toBe(before);
    // The code runs it, once.
    expect(await callTool("consent", `confirm ${code}`)).toContain('"status":"shipped"');
    expect(service.requests.length).toBe(before + 1);

    // Another conversation: "no, do NOT refund" rejects, and the code does not revive it.
    const second = await callTool("refusal", "refund order 12");
    const secondCode = /CONFIRM ([A-Z2-9]{6})/.exec(second)![1]!;
    expect(secondCode).not.toBe(code);
    expect(await callTool("refusal", "no, do NOT refund")).toContain("declined");
    expect(await callTool("refusal", `CONFIRM ${secondCode}`)).toContain("declined");
    expect(service.requests.length).toBe(before + 1);
    const rows = await admin.db
      .select()
      .from(toolApprovals)
      .where(and(eq(toolApprovals.tenantId, graph.tenant.id), eq(toolApprovals.toolId, toolId)));
    expect(rows.map((row) => row.status).sort()).toEqual(["rejected", "used"]);
  });

  it("strips image markup from a tool result and from the reply before any channel sees it", async () => {
    const { graph } = await tenantWithTool("none");
    openai.queueReply(
      'Here is your receipt ![receipt](http://169.254.169.254/latest/meta-data/iam) <img src="https://t.example/p.gif"> done',
    );
    await processInboundMessage(deps, inbound(graph, "images", "show me the receipt"));
    const sent = telegram.sent("images").at(-1)!.text;
    expect(sent).toBe("Here is your receipt receipt  done");
    const [reply] = await admin.db
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, graph.tenant.id), eq(messages.direction, "outbound")));
    expect(reply!.content).not.toMatch(/169\.254|t\.example|<img/);
  });

  it("loads only enabled tools of the agent's own tenant", async () => {
    const { graph, toolId } = await tenantWithTool("none");
    await admin.db.update(tools).set({ enabled: false }).where(eq(tools.id, toolId));
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 1 } });
    await processInboundMessage(deps, inbound(graph, "disabled", "order 1?"));
    // No tools offered, so the fake answers in text and the queued call stays for the next test's turn.
    expect(openai.requests.at(-1)!.body.tools ?? []).toEqual([]);
    const other = await tenantWithTool("none");
    // Another tenant's tool id in an agent's configuration loads nothing (row-level security).
    await admin.db
      .update(agents)
      .set({ toolIds: [toolId] })
      .where(eq(agents.id, other.graph.rows.agents.id!));
    await processInboundMessage(deps, inbound(other.graph, "foreign", "order 1?"));
    expect(openai.requests.at(-1)!.body.tools ?? []).toEqual([]);
    await admin.db
      .update(agents)
      .set({ toolIds: [other.toolId] })
      .where(eq(agents.id, other.graph.rows.agents.id!));
    await processInboundMessage(deps, inbound(other.graph, "own", "order 1?"));
    expect(telegram.sent("own").at(-1)!.text).toContain("Tool lookup_order said:");
    const usage = (await usageOf(other.graph)).at(-1);
    expect(usage!.toolCalls[0]).toMatchObject({ toolId: other.toolId });
  });

  it("never writes a secret to a log line", () => {
    const { apiKey, bearer, basicPassword, clientSecret, petstoreKey } = TOOL_SERVICE_SECRETS;
    const secrets = [apiKey, bearer, basicPassword, clientSecret, petstoreKey];
    const joined = logLines.join("\n");
    expect(joined).toContain("tool.call");
    for (const secret of secrets) expect(joined).not.toContain(secret);
    expect(joined).not.toMatch(/svc-access-/);
  });
});

/** A test run of the graph's agent, as the edge records it, for `runAgentTestSuite` to run. */
async function recordRun(graph: TenantGraph, suite: Record<string, unknown>): Promise<string> {
  const runId = randomUUID();
  await admin.db.insert(agentTestRuns).values({
    id: runId,
    tenantId: graph.tenant.id,
    agentId: graph.rows.agents.id!,
    version: 1,
    target: "published",
    createdBy: "user:test",
    suite,
  });
  return runId;
}

describe("test runs of an agent's suite", () => {
  it("answer tools with the case's stubs (never the real service), report unmet expectations, and store nothing else", async () => {
    const { graph } = await tenantWithTool("none");
    const runId = await recordRun(graph, {
      name: "Orders",
      cases: [
        {
          name: "stubbed lookup",
          stubs: { lookup_order: { output: "Order 7 ships on Tuesday." } },
          turns: [
            {
              user: "Where is order 7?",
              expect: { toolCalled: [{ name: "lookup_order", arguments: { orderId: 7 } }], contains: ["ships on Tuesday"] },
            },
          ],
        },
        {
          name: "no stub",
          turns: [{ user: "Where is order 8?", expect: { contains: ["order 8 is on its way"], toolNotCalled: ["lookup_order"] } }],
        },
      ],
    });
    const before = { service: service.requests.length, messages: (await admin.db.select().from(messages)).length };
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 7 } });
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 8 } });
    await runAgentTestSuite(deps, { tenantId: graph.tenant.id, runId });

    const [run] = await admin.db.select().from(agentTestRuns).where(eq(agentTestRuns.id, runId));
    expect(run).toMatchObject({ status: "failed", finishedAt: expect.any(Date) });
    const results = run!.results as unknown as TestRunResults;
    expect(results).toMatchObject({ passed: 1, failed: 1, passRate: 0.5 });
    expect(results.cases[0]!.turns[0]).toMatchObject({
      passed: true,
      reply: "(gpt-4o-mini) Tool lookup_order said: Order 7 ships on Tuesday.",
      toolCalls: [{ name: "lookup_order", arguments: { orderId: 7 }, outcome: "stubbed" }],
      model: "openai:gpt-4o-mini",
    });
    expect(results.cases[1]!.turns[0]!.failures).toEqual([
      'reply does not contain "order 8 is on its way"',
      "tool lookup_order was called",
    ]);
    expect(results.cases[1]!.turns[0]!.toolCalls[0]).toMatchObject({ outcome: "not_stubbed" });
    // Isolated: the tool service was never called, no message stored, no usage recorded.
    expect(service.requests.length).toBe(before.service);
    expect((await admin.db.select().from(messages)).length).toBe(before.messages);
    expect(await usageOf(graph)).toEqual([]);
  });

  it("turn a real conversation into a test case with one call, which then runs", async () => {
    const { graph } = await tenantWithTool("none");
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 9 } });
    expect(await processInboundMessage(deps, inbound(graph, "case-chat", "where is order 9?"))).toBe("replied");
    expect(await processInboundMessage(deps, inbound(graph, "case-chat", "thanks!"))).toBe("replied");
    const [conversation] = await admin.db
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.tenantId, graph.tenant.id), eq(conversations.externalKey, "case-chat")));
    const made = await withTenant(app.db, graph.tenant.id, (tx) =>
      conversationTestCase({
        ctx: {
          tenantId: graph.tenant.id,
          actor: { type: "user", id: graph.user.id, userId: graph.user.id },
          role: { id: graph.user.id, name: "viewer" },
          permissions: new Set(["agents:read" as const]),
          allowedOrigins: [],
          tx,
        },
        input: { conversationId: conversation!.id },
      }),
    );
    expect(made.testCase).toMatchObject({
      channel: "telegram",
      turns: [
        { user: "where is order 9?", expect: { toolCalled: [{ name: "lookup_order" }] } },
        { user: "thanks!", expect: {} },
      ],
    });
    expect(made.yaml).toContain("- user: where is order 9?");

    // Pasted into a suite with a stub, it runs and passes.
    const runId = await recordRun(graph, {
      name: "From the inbox",
      cases: [{ ...made.testCase, stubs: { lookup_order: { output: "Order 9 is packed." } } }],
    });
    openai.queueToolCall({ name: "lookup_order", arguments: { orderId: 9 } });
    await runAgentTestSuite(deps, { tenantId: graph.tenant.id, runId });
    const [run] = await admin.db.select().from(agentTestRuns).where(eq(agentTestRuns.id, runId));
    expect(run).toMatchObject({ status: "passed" });
  });

  it("grade replies with a judge model against a rubric, reporting its reason, and check the reply's language", async () => {
    const { graph } = await tenantWithTool("none");
    const runId = await recordRun(graph, {
      name: "Tone",
      cases: [
        {
          name: "greets in Spanish",
          turns: [{ user: "hola", expect: { language: "es", judge: { rubric: "Greets the customer by name.", minScore: 4 } } }],
        },
      ],
    });
    openai.queueReply("Hola, ¿en qué puedo ayudarte hoy con tu pedido?");
    openai.queueReply('{"score": 2, "reason": "It does not use the customer\'s name."}');
    await runAgentTestSuite(deps, { tenantId: graph.tenant.id, runId });
    const [run] = await admin.db.select().from(agentTestRuns).where(eq(agentTestRuns.id, runId));
    const turn = (run!.results as unknown as TestRunResults).cases[0]!.turns[0]!;
    expect(turn).toMatchObject({ language: "es", judge: { score: 2, reason: "It does not use the customer's name." } });
    expect(turn.failures).toEqual(["the judge scored 2/5 (at least 4): It does not use the customer's name."]);
    // The judge saw the rubric and the reply as data.
    const judged = openai.requests
      .at(-1)!
      .body.messages.map((m) => String(m.content))
      .join("\n");
    expect(judged).toContain("Greets the customer by name.");
    expect(judged).toContain("Hola, ¿en qué puedo ayudarte hoy con tu pedido?");
  });

  it("check that a reply cites a knowledge source, by the source's name, and that a turn hands off", async () => {
    const { graph } = await tenantWithTool("none");
    const [source] = await admin.db
      .select({ id: knowledgeSources.id, baseId: knowledgeSources.knowledgeBaseId })
      .from(knowledgeSources)
      .where(eq(knowledgeSources.tenantId, graph.tenant.id));
    await admin.db
      .update(agents)
      .set({ knowledgeBaseIds: [source!.baseId!] })
      .where(eq(agents.id, graph.rows.agents.id!));
    const runId = await recordRun(graph, {
      name: "Knowledge",
      cases: [
        { name: "cites", turns: [{ user: "when do you open?", expect: { cites: "FAQ" } }] },
        { name: "does not cite", turns: [{ user: "when do you open?", expect: { cites: "FAQ" } }] },
        { name: "hands off", turns: [{ user: "/human", expect: { handedOff: true } }] },
      ],
    });
    // Retrieval as the pool does it, answered here (no Chroma in this file): one chunk of the FAQ.
    const knowledge = async () => [
      { chunkId: "c1", sourceId: source!.id, knowledgeBaseId: source!.baseId!, score: 0.9, text: "We open at nine.", sourceName: "FAQ" },
    ];
    openai.queueReply("We open at nine [1].");
    openai.queueReply("We open at nine.");
    await runAgentTestSuite({ ...deps, knowledge }, { tenantId: graph.tenant.id, runId });
    const [run] = await admin.db.select().from(agentTestRuns).where(eq(agentTestRuns.id, runId));
    const cases = (run!.results as unknown as TestRunResults).cases;
    expect(cases.map((c) => [c.name, c.passed, c.turns[0]!.cited])).toEqual([
      ["cites", true, ["FAQ"]],
      ["does not cite", false, []],
      ["hands off", true, []],
    ]);
  });
});
