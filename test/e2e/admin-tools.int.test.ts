import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPoolDb, type DbHandle } from "../../db/client";
import { auditLog, toolApprovals, tools } from "../../db/schema";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { startFakeToolService, TOOL_SERVICE_SECRETS, type FakeToolService } from "../fakes/tool-service";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { createTestDatabase, type TestDatabase } from "../support/database";
import type pg from "pg";

/**
 * /v1/tools on the real edge (workerd) and database, with the pool's tool runner: CRUD, masking,
 * save-time SSRF refusals, the test endpoint per auth type, OpenAPI import of the Petstore, agent
 * attachment; every response and the services' log scanned for secrets.
 */
let database: TestDatabase;
let stack: LocalStack;
let admin: DbHandle<pg.Pool>;
let service: FakeToolService;
let a: AccessTenant;
let logDir: string;
const bodies: string[] = [];

type Json = Record<string, unknown> & {
  data?: Array<Record<string, unknown>>;
  error?: { code: string; details?: { reason?: string; issues?: unknown } };
};

async function call(path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${stack.edge.url}${path}`, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${init.token ?? a.apiKeys.editor.key}`,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  bodies.push(text);
  return { status: response.status, json: text ? (JSON.parse(text) as Json) : {} };
}

beforeAll(async () => {
  service = await startFakeToolService();
  database = await createTestDatabase();
  logDir = await mkdtemp(join(tmpdir(), "tools-e2e-"));
  stack = await startLocalStack({
    database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
    withChroma: false,
    output: { file: join(logDir, "services.log") },
    // The loopback service is reachable only because this test names it, at save time and run time.
    edgeVars: { TOOLS_ALLOWED_HOSTS: service.hostPort, LOG_LEVEL: "info" },
    poolEnv: { TOOLS_ALLOWED_HOSTS: service.hostPort, LOG_LEVEL: "info" },
  });
  admin = createPoolDb(database.adminUrl, { max: 2 });
  a = await createAccessTenant(admin.db);
}, 120_000);

afterAll(async () => {
  await admin?.close();
  await stack?.stop();
  await database?.close();
  await service?.close();
  if (logDir) await rm(logDir, { recursive: true, force: true });
});

const orderTool = (kind: string, auth: Record<string, unknown>, name = `order_${kind.replace(/-/g, "_")}`) => ({
  name,
  description: "Looks up an order.",
  method: "GET",
  urlTemplate: `${service.url}/${kind}/orders/{orderId}`,
  parameters: { type: "object", properties: { orderId: { type: "integer" }, verbose: { type: "boolean" } }, required: ["orderId"] },
  responseMapping: { path: "order", maxBytes: 1000 },
  auth,
});

describe("tools admin API", () => {
  it("creates, reads, lists, updates, disables and deletes a tool; secrets are masked and audited masked", async () => {
    const created = await call("/v1/tools", {
      method: "POST",
      body: orderTool("bearer", { type: "bearer", token: TOOL_SERVICE_SECRETS.bearer }),
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: "order_bearer",
      enabled: true,
      auth: { type: "bearer", token: "********" },
      parameterLocations: { orderId: "path", verbose: "query" },
    });
    const id = created.json.id as string;

    const [row] = await admin.db.select().from(tools).where(eq(tools.id, id));
    expect(row!.authConfig).toMatch(/^v1\.[A-Za-z0-9_-]+\./);
    expect(row!.authConfig).not.toContain(TOOL_SERVICE_SECRETS.bearer);

    expect((await call(`/v1/tools/${id}`, { token: a.apiKeys.viewer.key })).json).toMatchObject({ id, auth: { token: "********" } });
    expect((await call("/v1/tools?limit=100")).json.data!.map((t) => t.id)).toContain(id);
    const updated = await call(`/v1/tools/${id}`, { method: "PATCH", body: { description: "Finds an order.", timeoutMs: 5000 } });
    expect(updated.json).toMatchObject({ description: "Finds an order.", timeoutMs: 5000, auth: { type: "bearer" } });
    expect((await call(`/v1/tools/${id}/disable`, { method: "POST" })).json).toMatchObject({ enabled: false });
    expect((await call(`/v1/tools/${id}/enable`, { method: "POST" })).json).toMatchObject({ enabled: true });
    expect((await call(`/v1/tools/${id}`, { method: "PATCH", token: a.apiKeys.viewer.key, body: { description: "x" } })).status).toBe(403);

    const duplicate = await call("/v1/tools", { method: "POST", body: orderTool("bearer", { type: "none" }) });
    expect(duplicate.status).toBe(409);
    const badName = await call("/v1/tools", { method: "POST", body: orderTool("none", { type: "none" }, "not a valid name!") });
    expect(badName.status).toBe(400);
    const wrongLocation = await call("/v1/tools", {
      method: "POST",
      body: {
        ...orderTool("none", { type: "none" }, "bad_loc"),
        urlTemplate: `${service.url}/none/orders`,
        parameterLocations: { orderId: "path" },
      },
    });
    expect(wrongLocation.status).toBe(422);
    expect(wrongLocation.json.error).toMatchObject({ details: { reason: "INVALID_TOOL" } });

    expect((await call(`/v1/tools/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await call(`/v1/tools/${id}`)).status).toBe(404);
    const audited = await admin.db.select().from(auditLog).where(eq(auditLog.resourceId, id));
    expect(audited.map((r) => r.action).sort()).toEqual(["tool.create", "tool.delete", "tool.disable", "tool.enable", "tool.update"]);
    expect(JSON.stringify(audited)).not.toContain(TOOL_SERVICE_SECRETS.bearer);
  });

  it.each([
    "http://127.0.0.1/x",
    "http://127.1/x",
    "http://0x7f000001/x",
    "http://2130706433/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/x",
    "http://100.64.1.1/x",
    "http://[fd00::1]/x",
    "http://[fe80::1]/x",
    "http://localhost/x",
    "ftp://example.com/x",
    "https://example.com:8443/x",
    "https://{host}.example.com/x",
  ])("refuses to save a tool pointing at %s", async (url) => {
    const response = await call("/v1/tools", {
      method: "POST",
      body: {
        name: "ssrf_probe",
        description: "x",
        method: "GET",
        urlTemplate: url,
        parameters: {
          type: "object",
          properties: url.includes("{host}") ? { host: { type: "string" } } : {},
          ...(url.includes("{host}") ? { required: ["host"] } : {}),
        },
      },
    });
    expect(response.status).toBe(422);
    expect(response.json.error!.details!.reason).toBe("INVALID_TOOL");
  });

  it.each([
    ["none", { type: "none" }],
    ["apikey-header", { type: "api_key", in: "header", name: "X-API-Key", value: TOOL_SERVICE_SECRETS.apiKey }],
    ["apikey-query", { type: "api_key", in: "query", name: "api_key", value: TOOL_SERVICE_SECRETS.apiKey }],
    ["bearer", { type: "bearer", token: TOOL_SERVICE_SECRETS.bearer }],
    ["basic", { type: "basic", username: TOOL_SERVICE_SECRETS.basicUser, password: TOOL_SERVICE_SECRETS.basicPassword }],
    [
      "oauth",
      {
        type: "oauth2_client_credentials",
        tokenUrl: "TOKEN_URL",
        clientId: TOOL_SERVICE_SECRETS.clientId,
        clientSecret: TOOL_SERVICE_SECRETS.clientSecret,
      },
    ],
  ] as const)("tests a tool with %s auth: shows the request (masked) and the response", async (kind, auth) => {
    const resolved = "tokenUrl" in auth ? { ...auth, tokenUrl: `${service.url}/oauth/token` } : auth;
    const created = await call("/v1/tools", { method: "POST", body: orderTool(kind, resolved, `test_${kind.replace(/-/g, "_")}`) });
    expect(created.status).toBe(201);
    const tested = await call(`/v1/tools/${created.json.id as string}/test`, {
      method: "POST",
      body: { arguments: { orderId: 42, verbose: true } },
    });
    expect(tested.status).toBe(200);
    expect(tested.json).toMatchObject({ ok: true, outcome: "ok", response: { status: 200 }, request: { method: "GET" } });
    expect(JSON.parse(tested.json.output as string)).toMatchObject({ id: "42", status: "shipped" });
    const request = tested.json.request as { url: string; headers: Record<string, string> };
    expect(request.url).toContain(`/${kind}/orders/42?verbose=true`);
    if (kind === "apikey-query") expect(request.url).toContain("api_key=********");
    if (kind === "apikey-header") expect(request.headers["X-API-Key"]).toBe("********");
    if (kind === "bearer" || kind === "oauth") expect(request.headers.authorization).toBe("Bearer ********");
    if (kind === "basic") expect(request.headers.authorization).toBe("Basic ********");
  });

  it("does not carry stored credentials to another server: a new origin needs them entered again", async () => {
    const created = await call("/v1/tools", {
      method: "POST",
      body: orderTool("bearer", { type: "bearer", token: "tok-origin-1" }, "repointed"),
    });
    const id = created.json.id as string;
    const before = (await admin.db.select().from(tools).where(eq(tools.id, id)))[0]!;
    for (const urlTemplate of [
      "https://collector.example.com/orders/{orderId}",
      `${service.url.replace("http:", "https:")}/bearer/orders/{orderId}`,
    ]) {
      const moved = await call(`/v1/tools/${id}`, { method: "PATCH", body: { urlTemplate } });
      expect(moved.status, urlTemplate).toBe(422);
      expect(moved.json).toMatchObject({ error: { details: { reason: "CREDENTIALS_REQUIRED" } } });
    }
    const after = (await admin.db.select().from(tools).where(eq(tools.id, id)))[0]!;
    expect(after.urlTemplate).toBe(before.urlTemplate);
    expect(after.authConfig).toBe(before.authConfig);
    // Same origin, another path: the credentials stay. A new origin with new credentials: accepted.
    expect(
      (await call(`/v1/tools/${id}`, { method: "PATCH", body: { urlTemplate: `${service.url}/bearer/v2/orders/{orderId}` } })).status,
    ).toBe(200);
    const withNew = await call(`/v1/tools/${id}`, {
      method: "PATCH",
      body: { urlTemplate: "https://collector.example.com/orders/{orderId}", auth: { type: "bearer", token: "tok-origin-2" } },
    });
    expect(withNew.status).toBe(200);
  });

  it("answers 409 SECRET_UNREADABLE, not a 503, when a tool's sealed credentials no longer decrypt", async () => {
    const created = await call("/v1/tools", {
      method: "POST",
      body: orderTool("bearer", { type: "bearer", token: "tok-unreadable-1" }, "unreadable"),
    });
    expect(created.status).toBe(201);
    // Sealed under a key id that is not in the keyring (a rotation that dropped it).
    await admin.db
      .update(tools)
      .set({ authConfig: "v1.gone.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA" })
      .where(eq(tools.id, created.json.id as string));
    const tested = await call(`/v1/tools/${created.json.id as string}/test`, { method: "POST", body: { arguments: { orderId: 1 } } });
    expect(tested.status).toBe(409);
    expect(tested.json).toMatchObject({ error: { code: "SECRET_UNREADABLE" } });
    expect(JSON.stringify(tested.json)).not.toContain("tok-unreadable-1");
  });

  it("refuses a wrong argument type before any request, and a redirect into the internal network at run time", async () => {
    const created = await call("/v1/tools", { method: "POST", body: orderTool("none", { type: "none" }, "typed_args") });
    const before = service.requests.length;
    const wrong = await call(`/v1/tools/${created.json.id as string}/test`, {
      method: "POST",
      body: { arguments: { orderId: "forty-two" } },
    });
    expect(wrong.json).toMatchObject({ ok: false, outcome: "invalid_arguments", request: null, response: null });
    expect(service.requests.length).toBe(before);

    const redirecting = await call("/v1/tools", {
      method: "POST",
      body: {
        name: "redirecting",
        description: "x",
        method: "GET",
        urlTemplate: `${service.url}/redirect`,
        parameters: { type: "object", properties: { to: { type: "string" } } },
      },
    });
    for (const target of ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:1/", "http://0x7f000001/"]) {
      const refused = await call(`/v1/tools/${redirecting.json.id as string}/test`, {
        method: "POST",
        body: { arguments: { to: target } },
      });
      expect(refused.json).toMatchObject({ ok: false, outcome: "UNSAFE_URL" });
    }
  });

  it("imports the Petstore OpenAPI document into working tools with its api_key scheme", async () => {
    const document = await readFile(new URL("../fixtures/petstore.yaml", import.meta.url), "utf8");
    const missingCredentials = await call("/v1/tools/import", { method: "POST", body: { document, baseUrl: `${service.url}/v1` } });
    expect(missingCredentials.status).toBe(422);
    const imported = await call("/v1/tools/import", {
      method: "POST",
      body: { document, baseUrl: `${service.url}/v1`, namePrefix: "pet_", credentials: { value: TOOL_SERVICE_SECRETS.petstoreKey } },
    });
    expect(imported.status).toBe(201);
    const byName = Object.fromEntries(imported.json.data!.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(["pet_createPets", "pet_listPets", "pet_showPetById"]);
    expect(byName.pet_showPetById).toMatchObject({
      method: "GET",
      parameterLocations: { petId: "path" },
      auth: { type: "api_key", in: "header", name: "api_key", value: "********" },
    });
    expect(byName.pet_createPets).toMatchObject({ method: "POST", parameterLocations: { id: "body", name: "body", tag: "body" } });

    const shown = await call(`/v1/tools/${byName.pet_showPetById!.id as string}/test`, {
      method: "POST",
      body: { arguments: { petId: "1" } },
    });
    expect(shown.json).toMatchObject({ ok: true, response: { status: 200 } });
    expect(JSON.parse(shown.json.output as string)).toMatchObject({ id: 1, name: "Rex" });
    const listed = await call(`/v1/tools/${byName.pet_listPets!.id as string}/test`, { method: "POST", body: { arguments: { limit: 1 } } });
    expect(JSON.parse(listed.json.output as string)).toHaveLength(1);
    const createdPet = await call(`/v1/tools/${byName.pet_createPets!.id as string}/test`, {
      method: "POST",
      body: { arguments: { id: 3, name: "Nemo", tag: "fish" } },
    });
    expect(createdPet.json).toMatchObject({ ok: true, response: { status: 201 } });

    // By URL: fetched by the pool through the SSRF-safe client (the loopback service is allowlisted
    // there); a URL into the internal network is refused.
    const refused = await call("/v1/tools/import", { method: "POST", body: { url: "http://169.254.169.254/openapi.json" } });
    expect(refused.status).toBe(422);
    // Refused at the API with the tools' own URL policy, before the runner is asked.
    for (const url of ["http://169.254.169.254/openapi.json", "http://[::a9fe:a9fe]/openapi.json", "http://metadata.internal/x"]) {
      const early = await call("/v1/tools/import", { method: "POST", body: { url } });
      expect(early.status, url).toBe(422);
      expect(early.json, url).toMatchObject({ error: { details: { reason: "INVALID_OPENAPI" } } });
      expect(JSON.stringify(early.json), url).toMatch(/The document URL is not allowed/);
    }
  });

  it("attaches a tool to an agent and detaches it (each a new agent version); a tool in use cannot be deleted", async () => {
    const created = await call("/v1/tools", { method: "POST", body: orderTool("none", { type: "none" }, "attachable") });
    const id = created.json.id as string;
    const attached = await call(`/v1/tools/${id}/agents/${a.agentId}`, { method: "PUT" });
    expect(attached.status).toBe(200);
    expect(attached.json.toolIds).toContain(id);
    const inUse = await call(`/v1/tools/${id}`, { method: "DELETE" });
    expect(inUse.status).toBe(409);
    expect(inUse.json.error!.details!.reason).toBe("TOOL_IN_USE");
    const detached = await call(`/v1/tools/${id}/agents/${a.agentId}`, { method: "DELETE" });
    expect(detached.json.toolIds).not.toContain(id);
    expect(detached.json.version).toBe((attached.json.version as number) + 1);
    expect((await call(`/v1/tools/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await call("/v1/tools/approvals?status=pending")).status).toBe(200);
  });

  it("decides approvals: viewer 403, another tenant's id 404, decided again 409, expired 409; a rejected call stays rejected until an operator approves it", async () => {
    const other = await createAccessTenant(admin.db);
    const pending = async (createdAt?: Date) =>
      (
        await admin.db
          .insert(toolApprovals)
          .values({
            tenantId: a.tenantId,
            toolId: a.toolId,
            conversationId: a.conversationId,
            argumentsHash: randomUUID(),
            ...(createdAt ? { createdAt } : {}),
          })
          .returning()
      )[0]!;
    const decide = (id: string, decision: "approve" | "reject", token?: string) =>
      call(`/v1/tools/approvals/${id}/${decision}`, { method: "POST", ...(token ? { token } : {}) });

    const request = await pending();
    expect((await decide(request.id, "approve", a.apiKeys.viewer.key)).status).toBe(403);
    expect((await decide(request.id, "approve", other.apiKeys.admin.key)).status).toBe(404);
    expect((await decide(other.approvalId, "approve")).status).toBe(404);
    const rejected = await decide(request.id, "reject");
    expect(rejected.status).toBe(200);
    expect(rejected.json).toMatchObject({ status: "rejected" });
    expect((await decide(request.id, "reject")).json).toMatchObject({ error: { details: { reason: "APPROVAL_DECIDED" } } });
    const approved = await decide(request.id, "approve");
    expect(approved.json).toMatchObject({ status: "approved" });
    expect((await decide(request.id, "approve")).status).toBe(409);

    const stale = await pending(new Date(Date.now() - 25 * 3_600_000));
    const expired = await decide(stale.id, "approve");
    expect(expired.status).toBe(409);
    expect(expired.json).toMatchObject({ error: { details: { reason: "APPROVAL_EXPIRED" } } });
    const [untouched] = await admin.db.select().from(toolApprovals).where(eq(toolApprovals.id, stale.id));
    expect(untouched!.status).toBe("pending");
  });

  it("never shows a secret in any API response or log line", async () => {
    const log = await readFile(join(logDir, "services.log"), "utf8");
    expect(log).toContain("tool.test");
    const { apiKey, bearer, basicPassword, clientSecret, petstoreKey } = TOOL_SERVICE_SECRETS;
    const secrets = [apiKey, bearer, basicPassword, clientSecret, petstoreKey];
    for (const text of [...bodies, log]) for (const secret of secrets) expect(text).not.toContain(secret);
    expect(`${bodies.join("\n")}\n${log}`).not.toMatch(/svc-access-/);
  });
});
