import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { generateKeyPair, exportPKCS8, exportSPKI } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPoolDb, type DbHandle } from "../../db/client";
import { alerts, auditLog, integrationConnections, oauthStates } from "../../db/schema";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { startFakeHubSpot, type FakeHubSpot } from "../fakes/hubspot";
import { startFakeSalesforce, type FakeSalesforce } from "../fakes/salesforce";
import { startFakeStripe, type FakeStripe } from "../fakes/stripe";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { createTestDatabase, type TestDatabase } from "../support/database";
import type pg from "pg";

/**
 * /v1/integrations on the real edge (workerd) and database, against loopback fakes of HubSpot,
 * Salesforce and Stripe that speak their OAuth and REST protocols: the catalogue, the OAuth round
 * trip through the authorize redirect and the public callback, every way a state can be wrong,
 * PKCE, token connections checked before they are stored, test, disconnect with revocation, roles
 * and other tenants, and no token in any response or log line.
 */
let database: TestDatabase;
let stack: LocalStack;
let admin: DbHandle<pg.Pool>;
let hubspot: FakeHubSpot;
let salesforce: FakeSalesforce;
let stripe: FakeStripe;
let a: AccessTenant;
let b: AccessTenant;
let logDir: string;
const bodies: string[] = [];

const APPS = {
  HUBSPOT_CLIENT_ID: "hs-client-id",
  HUBSPOT_CLIENT_SECRET: "hs-client-secret-0123456789",
  SALESFORCE_CLIENT_ID: "sf-consumer-key-0123456789",
  SALESFORCE_CLIENT_SECRET: "sf-consumer-secret-0123456789",
  STRIPE_CLIENT_ID: "ca_fakeclient0123456789",
  STRIPE_SECRET_KEY: "sk_test_platform0123456789abcdef",
};

type Json = Record<string, unknown> & {
  data?: Array<Record<string, unknown>>;
  error?: { code: string; message: string; details?: { reason?: string } };
};

async function call(path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; json: Json }> {
  const body = init.body ?? (init.method === "PATCH" ? { settings: {} } : undefined);
  const response = await fetch(`${stack.edge.url}${path}`, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${init.token ?? a.apiKeys.editor.key}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  bodies.push(text);
  return { status: response.status, json: text ? (JSON.parse(text) as Json) : {} };
}

/** Follows the provider's authorize redirect (the fake approves at once) to our callback; answers the callback's page. */
async function authorizeAndReturn(
  authorizationUrl: string,
  tamper?: (callback: URL) => void,
): Promise<{ status: number; html: string; callback: URL }> {
  const approve = await fetch(authorizationUrl, { redirect: "manual" });
  expect(approve.status).toBe(302);
  const callback = new URL(approve.headers.get("location")!);
  tamper?.(callback);
  const response = await fetch(callback, { redirect: "manual" });
  const html = await response.text();
  bodies.push(html);
  return { status: response.status, html, callback };
}

async function startAuthorization(provider: string, token = a.apiKeys.editor.key): Promise<string> {
  const { status, json } = await call(`/v1/integrations/${provider}/connect`, { method: "POST", body: { method: "oauth" }, token });
  expect(status, JSON.stringify(json)).toBe(200);
  return json.authorizationUrl as string;
}

const connections = (tenantId: string) =>
  admin.db.select().from(integrationConnections).where(eq(integrationConnections.tenantId, tenantId));

beforeAll(async () => {
  hubspot = await startFakeHubSpot({ clientId: APPS.HUBSPOT_CLIENT_ID, clientSecret: APPS.HUBSPOT_CLIENT_SECRET });
  salesforce = await startFakeSalesforce({ clientId: APPS.SALESFORCE_CLIENT_ID, clientSecret: APPS.SALESFORCE_CLIENT_SECRET });
  stripe = await startFakeStripe({ clientId: APPS.STRIPE_CLIENT_ID, platformKey: APPS.STRIPE_SECRET_KEY });
  database = await createTestDatabase();
  logDir = await mkdtemp(join(tmpdir(), "integrations-e2e-"));
  stack = await startLocalStack({
    database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
    withChroma: false,
    withPool: false,
    output: { file: join(logDir, "services.log") },
    edgeVars: {
      ...APPS,
      HUBSPOT_API_BASE: hubspot.url,
      HUBSPOT_AUTH_BASE: hubspot.url,
      SALESFORCE_LOGIN_URL: salesforce.url,
      STRIPE_API_BASE: stripe.url,
      STRIPE_CONNECT_BASE: stripe.url,
      LOG_LEVEL: "debug",
    },
  });
  admin = createPoolDb(database.adminUrl, { max: 2 });
  a = await createAccessTenant(admin.db);
  b = await createAccessTenant(admin.db);
  // The access fixture's placeholder connection: these tests make their own.
  for (const tenant of [a, b]) await admin.db.delete(integrationConnections).where(eq(integrationConnections.tenantId, tenant.tenantId));
}, 120_000);

afterAll(async () => {
  await admin?.close();
  await stack?.stop();
  await database?.close();
  await Promise.all([hubspot?.close(), salesforce?.close(), stripe?.close()]);
  if (logDir) await rm(logDir, { recursive: true, force: true });
});

describe("the catalogue", () => {
  it("lists every provider with its scopes, ways to connect, tools and this tenant's connection", async () => {
    const { status, json } = await call("/v1/integrations", { token: a.apiKeys.viewer.key });
    expect(status).toBe(200);
    const byProvider = Object.fromEntries(json.data!.map((entry) => [entry.provider, entry]));
    expect(Object.keys(byProvider).sort()).toEqual(["hubspot", "salesforce", "stripe"]);
    expect(byProvider.salesforce).toMatchObject({
      oauth: { available: true, pkce: true, scopes: ["api", "refresh_token"] },
      connection: null,
    });
    expect(byProvider.hubspot!.token).toEqual({ label: "Private app access token", fields: ["accessToken"] });
    expect(
      (byProvider.stripe!.tools as Array<{ name: string; requiresApproval: boolean }>).find((t) => t.name === "stripe.create_payment_link"),
    ).toMatchObject({
      requiresApproval: true,
    });
  });

  it("is documented in the OpenAPI document, callback included", async () => {
    const doc = (await (await fetch(`${stack.edge.url}/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { "x-permission"?: string }>>;
    };
    expect(doc.paths["/v1/integrations/{provider}/connect"]?.post?.["x-permission"]).toBe("integrations:write");
    expect(doc.paths["/v1/integration-connections/{connectionId}"]?.delete?.["x-permission"]).toBe("integrations:delete");
    expect(doc.paths["/v1/integrations/{provider}/callback"]?.get).toBeDefined();
  });
});

describe("OAuth", () => {
  it("connects Salesforce through the authorize redirect and the callback, with PKCE, and audits it as the caller", async () => {
    const authorizationUrl = await startAuthorization("salesforce");
    const url = new URL(authorizationUrl);
    expect(url.origin + url.pathname).toBe(`${salesforce.url}/services/oauth2/authorize`);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("redirect_uri")).toBe(`${stack.edge.url}/v1/integrations/salesforce/callback`);

    const { status, html } = await authorizeAndReturn(authorizationUrl);
    expect(status, html).toBe(200);
    expect(html).toContain("Salesforce is connected");
    const [row] = (await connections(a.tenantId)).filter((r) => r.provider === "salesforce");
    expect(row).toMatchObject({
      authMethod: "oauth",
      status: "active",
      account: { id: salesforce.organizationId, instanceUrl: salesforce.url },
    });
    expect(row!.credentials).toMatch(/^v1\./);
    expect(row!.accessExpiresAt).not.toBeNull();
    const [audit] = await admin.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, a.tenantId), eq(auditLog.action, "integration.connect"), eq(auditLog.resourceId, row!.id)));
    expect(audit).toMatchObject({ actorType: "api_key", actorId: a.apiKeys.editor.id });
    expect(await admin.db.select().from(oauthStates).where(eq(oauthStates.tenantId, a.tenantId))).toEqual([]);

    const listed = await call("/v1/integrations");
    const entry = listed.json.data!.find((e) => e.provider === "salesforce")!;
    expect(entry.connection).toMatchObject({ id: row!.id, status: "active", authMethod: "oauth" });
  });

  it("connects HubSpot (no PKCE) and Stripe Connect the same way", async () => {
    const hs = await authorizeAndReturn(await startAuthorization("hubspot"));
    expect(hs.status, hs.html).toBe(200);
    const st = await authorizeAndReturn(await startAuthorization("stripe"));
    expect(st.status, st.html).toBe(200);
    const rows = await connections(a.tenantId);
    expect(rows.find((r) => r.provider === "hubspot")!.account).toMatchObject({ id: String(hubspot.portalId) });
    expect(rows.find((r) => r.provider === "stripe")!.account).toMatchObject({ id: stripe.connectedAccount });
  });

  it("refuses a replayed state: the second use of a callback stores nothing", async () => {
    const first = await authorizeAndReturn(await startAuthorization("hubspot"));
    expect(first.status).toBe(200);
    const before = (await connections(a.tenantId)).find((r) => r.provider === "hubspot")!;
    const replay = await fetch(first.callback);
    const html = await replay.text();
    expect(replay.status).toBe(400);
    expect(html).toContain("STATE_USED");
    const after = (await connections(a.tenantId)).find((r) => r.provider === "hubspot")!;
    expect(after.tokenVersion).toBe(before.tokenVersion);
  });

  it("refuses a tampered, a missing, another provider's and an expired state with an error page", async () => {
    const tampered = await authorizeAndReturn(await startAuthorization("stripe"), (callback) => {
      const state = callback.searchParams.get("state")!;
      const [header, payload, signature] = state.split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as Record<string, unknown>;
      claims.tid = b.tenantId; // another tenant
      callback.searchParams.set("state", [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join("."));
    });
    expect(tampered.status).toBe(400);
    expect(tampered.html).toContain("STATE_INVALID");

    const missing = await authorizeAndReturn(await startAuthorization("stripe"), (callback) => callback.searchParams.delete("state"));
    expect(missing.status).toBe(400);
    expect(missing.html).toContain("STATE_MISSING");

    // A HubSpot state brought to the Stripe callback.
    const hubspotUrl = new URL(await startAuthorization("hubspot"));
    const crossed = await fetch(`${stack.edge.url}/v1/integrations/stripe/callback?code=x&state=${hubspotUrl.searchParams.get("state")}`);
    expect(crossed.status).toBe(400);
    expect(await crossed.text()).toContain("STATE_INVALID");

    // Expired: the row's expiry has passed (the signed expiry is checked too, before any lookup).
    const expiring = await startAuthorization("salesforce");
    await admin.db
      .update(oauthStates)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(oauthStates.tenantId, a.tenantId));
    const expired = await authorizeAndReturn(expiring);
    expect(expired.status).toBe(400);
    expect(expired.html).toContain("STATE_USED");
    expect((await connections(b.tenantId)).length).toBe(0);
  });

  it("does not connect when PKCE's verifier does not match: the provider refuses the exchange", async () => {
    const before = salesforce.oauth.counts.exchange;
    const authorizationUrl = new URL(await startAuthorization("salesforce"));
    // A challenge the platform never made: the verifier it sends cannot match.
    authorizationUrl.searchParams.set("code_challenge", "A".repeat(43));
    const previous = (await connections(a.tenantId)).find((r) => r.provider === "salesforce")!;
    const result = await authorizeAndReturn(authorizationUrl.toString());
    expect(result.status).toBe(400);
    expect(result.html).toContain("TOKEN_EXCHANGE_FAILED");
    expect(result.html).toContain("code_verifier does not match");
    expect(salesforce.oauth.counts.exchange).toBe(before + 1);
    const after = (await connections(a.tenantId)).find((r) => r.provider === "salesforce")!;
    expect(after.tokenVersion).toBe(previous.tokenVersion);
  });

  it("shows the provider's refusal when the user denies access, and the state is spent", async () => {
    const url = new URL(await startAuthorization("hubspot"));
    const denied = await fetch(
      `${stack.edge.url}/v1/integrations/hubspot/callback?error=access_denied&error_description=User+denied&state=${url.searchParams.get("state")}`,
    );
    const html = await denied.text();
    expect(denied.status).toBe(400);
    expect(html).toContain("AUTHORIZATION_DENIED");
    expect(html).toContain("User denied");
  });

  it("needs integrations:write to start, and names an unknown provider clearly", async () => {
    expect(
      (await call("/v1/integrations/hubspot/connect", { method: "POST", body: { method: "oauth" }, token: a.apiKeys.viewer.key })).status,
    ).toBe(403);
    const unknown = await call("/v1/integrations/zendesk/connect", { method: "POST", body: { method: "oauth" } });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error?.details?.reason ?? unknown.json.error?.code).toMatch(/UNKNOWN_INTEGRATION/);
    const bad = await call("/v1/integrations/hubspot/connect", { method: "POST", body: { method: "password" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error?.code).toBe("INVALID_BODY");
  });
});

describe("token connections", () => {
  it("connects HubSpot with a private app token after a test call, and refuses a token HubSpot refuses", async () => {
    const refused = await call("/v1/integrations/hubspot/connect", {
      method: "POST",
      token: b.apiKeys.editor.key,
      body: { method: "token", credentials: { accessToken: "pat-na1-00000000-0000-0000-0000-000000000000" } },
    });
    expect(refused.status).toBe(422);
    expect(refused.json.error?.message).toContain("HubSpot refused the credentials");
    expect((await connections(b.tenantId)).length).toBe(0);

    const wrongShape = await call("/v1/integrations/hubspot/connect", {
      method: "POST",
      token: b.apiKeys.editor.key,
      body: { method: "token", credentials: { accessToken: "hello" } },
    });
    expect(wrongShape.status).toBe(422);
    expect(wrongShape.json.error?.details).toBeDefined();

    const { status, json } = await call("/v1/integrations/hubspot/connect", {
      method: "POST",
      token: b.apiKeys.editor.key,
      body: { method: "token", credentials: { accessToken: hubspot.privateAppToken } },
    });
    expect(status, JSON.stringify(json)).toBe(201);
    expect(json).toMatchObject({ provider: "hubspot", authMethod: "token", status: "active", account: { id: String(hubspot.portalId) } });
  });

  it("refuses a full Stripe secret key and connects a restricted one", async () => {
    const full = await call("/v1/integrations/stripe/connect", {
      method: "POST",
      token: b.apiKeys.editor.key,
      body: { method: "token", credentials: { accessToken: "sk_test_abcdefghijklmnop" } },
    });
    expect(full.status).toBe(422);
    const ok = await call("/v1/integrations/stripe/connect", {
      method: "POST",
      token: b.apiKeys.editor.key,
      body: { method: "token", credentials: { accessToken: stripe.restrictedKey } },
    });
    expect(ok.status, JSON.stringify(ok.json)).toBe(201);
    expect(String((ok.json.account as { id: string }).id)).toMatch(/^restricted key …/);
  });

  it("connects Salesforce with the JWT bearer flow (a connected app's certificate key)", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    salesforce.trustJwtKey("3MVG9jwt-consumer-key", "integration@acme.example", await exportSPKI(publicKey));
    const { status, json } = await call("/v1/integrations/salesforce/connect", {
      method: "POST",
      token: b.apiKeys.editor.key,
      body: {
        method: "token",
        credentials: { username: "integration@acme.example", clientId: "3MVG9jwt-consumer-key", privateKey: await exportPKCS8(privateKey) },
      },
    });
    expect(status, JSON.stringify(json)).toBe(201);
    expect(json).toMatchObject({ provider: "salesforce", authMethod: "token", account: { id: salesforce.organizationId } });
  });
});

describe("connections", () => {
  it("tests a connection with one authenticated call, refreshing an expired token first", async () => {
    const row = (await connections(a.tenantId)).find((r) => r.provider === "hubspot")!;
    await admin.db
      .update(integrationConnections)
      .set({ accessExpiresAt: new Date(Date.now() + 60_000) })
      .where(eq(integrationConnections.id, row.id));
    const refreshes = hubspot.oauth.counts.refresh;
    const { status, json } = await call(`/v1/integration-connections/${row.id}/test`, { method: "POST" });
    expect(status).toBe(200);
    expect(json).toMatchObject({ ok: true, account: { id: String(hubspot.portalId) } });
    expect(hubspot.oauth.counts.refresh).toBe(refreshes + 1);
    const after = (await connections(a.tenantId)).find((r) => r.provider === "hubspot")!;
    expect(after.tokenVersion).toBe(row.tokenVersion + 1);
    expect(after.accessExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
  });

  it("marks a connection needs_reauth and raises an alert when the refresh is refused for good", async () => {
    const row = (await connections(a.tenantId)).find((r) => r.provider === "salesforce")!;
    await admin.db
      .update(integrationConnections)
      .set({ accessExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(integrationConnections.id, row.id));
    salesforce.oauth.revokeAll();
    const { json } = await call(`/v1/integration-connections/${row.id}/test`, { method: "POST" });
    expect(json).toMatchObject({ ok: false, connection: { status: "needs_reauth" } });
    expect(String(json.detail)).toContain("Salesforce is not connected");
    const raised = await admin.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.tenantId, a.tenantId), eq(alerts.kind, "integration.needs_reauth")));
    expect(raised).toHaveLength(1);
    expect(raised[0]!.details).toMatchObject({ provider: "salesforce", connectionId: row.id });

    // Connecting again clears it.
    const again = await authorizeAndReturn(await startAuthorization("salesforce"));
    expect(again.status).toBe(200);
    expect((await connections(a.tenantId)).find((r) => r.provider === "salesforce")).toMatchObject({
      id: row.id,
      status: "active",
      lastError: null,
    });
  });

  it("changes a connection's settings within the provider's schema, audited", async () => {
    const row = (await connections(a.tenantId)).find((r) => r.provider === "hubspot")!;
    expect((await call(`/v1/integration-connections/${row.id}`)).json.settings).toEqual({ logConversations: false });
    const on = await call(`/v1/integration-connections/${row.id}`, { method: "PATCH", body: { settings: { logConversations: true } } });
    expect(on.status).toBe(200);
    expect(on.json.settings).toEqual({ logConversations: true });
    for (const settings of [{ logConversations: "yes" }, { sendEverythingTo: "https://evil.example" }]) {
      const refused = await call(`/v1/integration-connections/${row.id}`, { method: "PATCH", body: { settings } });
      expect(refused.status, JSON.stringify(settings)).toBe(422);
      expect(refused.json.error?.details?.reason).toBe("INVALID_SETTINGS");
    }
    const [audit] = await admin.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, a.tenantId), eq(auditLog.action, "integration.update")));
    expect(audit!.after).toMatchObject({ settings: { logConversations: true } });
  });

  it("answers 404 for another tenant's connection id, to every verb", async () => {
    const mine = (await connections(a.tenantId))[0]!;
    for (const [method, path] of [
      ["GET", `/v1/integration-connections/${mine.id}`],
      ["POST", `/v1/integration-connections/${mine.id}/test`],
      ["PATCH", `/v1/integration-connections/${mine.id}`],
      ["DELETE", `/v1/integration-connections/${mine.id}`],
    ] as const) {
      const { status } = await call(path, { method, token: b.apiKeys.admin.key });
      expect(status, `${method} ${path}`).toBe(404);
    }
    expect((await call(`/v1/integration-connections/${mine.id}`)).status).toBe(200);
  });

  it("disconnects: revokes at the provider, then deletes; a viewer may not", async () => {
    const row = (await connections(a.tenantId)).find((r) => r.provider === "stripe")!;
    expect((await call(`/v1/integration-connections/${row.id}`, { method: "DELETE", token: a.apiKeys.viewer.key })).status).toBe(403);
    const { status, json } = await call(`/v1/integration-connections/${row.id}`, { method: "DELETE", token: a.apiKeys.admin.key });
    expect(status).toBe(200);
    expect(json).toEqual({ revoked: true });
    expect(stripe.deauthorized).toContain(stripe.connectedAccount);
    expect((await connections(a.tenantId)).find((r) => r.provider === "stripe")).toBeUndefined();

    const hs = (await connections(a.tenantId)).find((r) => r.provider === "hubspot")!;
    const revokes = hubspot.oauth.counts.revoke;
    expect((await call(`/v1/integration-connections/${hs.id}`, { method: "DELETE", token: a.apiKeys.admin.key })).json).toEqual({
      revoked: true,
    });
    expect(hubspot.oauth.counts.revoke).toBe(revokes + 1);
  });
});

describe("agents' integration tools", () => {
  it("enables a provider's tools on an agent (a new version), refusing unknown ones", async () => {
    const created = await call("/v1/agents", { method: "POST", body: { name: "CRM agent", systemPrompt: "Help." } });
    expect(created.status).toBe(201);
    const agentId = created.json.id as string;
    const set = await call(`/v1/integrations/hubspot/agents/${agentId}`, {
      method: "PUT",
      body: { tools: ["find_contact", "hubspot.create_ticket"] },
    });
    expect(set.status, JSON.stringify(set.json)).toBe(200);
    expect(set.json.integrationTools).toEqual(["hubspot.find_contact", "hubspot.create_ticket"]);
    const stripeToo = await call(`/v1/integrations/stripe/agents/${agentId}`, { method: "PUT", body: { tools: ["find_customer"] } });
    expect(stripeToo.json.integrationTools).toEqual(["hubspot.find_contact", "hubspot.create_ticket", "stripe.find_customer"]);
    const unknown = await call(`/v1/integrations/hubspot/agents/${agentId}`, { method: "PUT", body: { tools: ["drop_database"] } });
    expect(unknown.status).toBe(422);
    const viaAgent = await call(`/v1/agents/${agentId}`, { method: "PATCH", body: { integrationTools: ["salesforce.nope"] } });
    expect(viaAgent.status).toBe(400);
    expect(viaAgent.json.error?.code).toBe("INVALID_BODY");
    const other = await call(`/v1/integrations/hubspot/agents/${agentId}`, {
      method: "PUT",
      body: { tools: [] },
      token: b.apiKeys.admin.key,
    });
    expect(other.status).toBe(404);
  });
});

describe("secrets", () => {
  it("never shows a token, a refresh token, a key or a PKCE verifier in a response or the services' log", async () => {
    const log = await readFile(join(logDir, "services.log"), "utf8");
    const secrets = [
      hubspot.privateAppToken,
      stripe.restrictedKey,
      APPS.HUBSPOT_CLIENT_SECRET,
      APPS.SALESFORCE_CLIENT_SECRET,
      APPS.STRIPE_SECRET_KEY,
    ];
    const haystack = bodies.join("\n") + log;
    for (const secret of secrets) expect(haystack).not.toContain(secret);
    expect(haystack).not.toMatch(/\bat-[A-Za-z0-9_-]{24}\b/); // fake access tokens
    expect(haystack).not.toMatch(/\brt-[A-Za-z0-9_-]{24}\b/); // fake refresh tokens
  });
});
