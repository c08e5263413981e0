import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agents, apiKeys, conversations, invitations, knowledgeBases, knowledgeSources, memberships, roles } from "../../db/schema";
import { base64UrlJson, startRequestCounter } from "../fakes/auth0";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { startAdminApiHarness, type AdminApiHarness } from "../support/admin-api";

/**
 * Security of the /v1 admin API on the real worker (workerd) and database: the Auth0 token attack
 * cases, and one matrix run against every route the OpenAPI document lists, so a route added
 * later is covered without touching this file (unless it has a new kind of path parameter).
 */
let h: AdminApiHarness;
let a: AccessTenant;
let b: AccessTenant;
let bInvitationId: string;

const tokenFor = (tenant: AccessTenant, role: "admin" | "editor" | "viewer", claims: Record<string, unknown> = {}) =>
  h.auth0.mint({ claims: { sub: tenant.users[role].sub, org_id: tenant.orgId, ...claims } });

async function expect401(response: Response, invalidToken = true) {
  expect(response.status).toBe(401);
  const challenge = response.headers.get("www-authenticate") ?? "";
  expect(challenge).toMatch(/^Bearer realm="agent-platform"/);
  if (invalidToken) expect(challenge).toContain('error="invalid_token"');
  const body = (await response.json()) as { error: { code: string; requestId: string } };
  expect(body.error.code).toBe("UNAUTHORIZED");
  expect(body.error.requestId).toBeTruthy();
}

beforeAll(async () => {
  h = await startAdminApiHarness();
  a = await createAccessTenant(h.admin.db);
  b = await createAccessTenant(h.admin.db);
  const [invitation] = await h.admin.db
    .insert(invitations)
    .values({ tenantId: b.tenantId, email: "someone@example.test", roleId: b.roleIds.viewer, expiresAt: new Date(Date.now() + 86_400_000) })
    .returning();
  bInvitationId = invitation!.id;
});

afterAll(async () => {
  await h?.stop();
});

describe("Auth0 access tokens", () => {
  it("accept a good token: the tenant from the organisation, the user by sub", async () => {
    const response = await h.call("/v1/me", { token: await tokenFor(a, "editor") });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      tenantId: a.tenantId,
      actor: { type: "user", id: a.users.editor.id },
      role: { name: "editor" },
    });
  });

  it("refuse alg none", async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: h.auth0.issuer, aud: h.auth0.audience, sub: a.users.admin.sub, org_id: a.orgId, iat: now, exp: now + 300 };
    for (const alg of ["none", "None", "NONE"]) {
      const token = `${base64UrlJson({ alg, typ: "JWT" })}.${base64UrlJson(payload)}.`;
      await expect401(await h.call("/v1/me", { token }));
    }
  });

  it("refuse HS256 signed with the RS256 public key", async () => {
    const { SignJWT } = await import("jose");
    const pem = await h.auth0.publicKeyPem();
    const token = await new SignJWT({ sub: a.users.admin.sub, org_id: a.orgId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(h.auth0.issuer)
      .setAudience(h.auth0.audience)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(pem));
    await expect401(await h.call("/v1/me", { token }));
  });

  it("refuse unknown and injected key ids", async () => {
    const stranger = await h.auth0.strangerKey();
    for (const kid of [stranger.kid, "../../../../etc/passwd", "' OR '1'='1", "x".repeat(500)]) {
      const token = await h.auth0.mint({ key: stranger, header: { kid }, claims: { sub: a.users.admin.sub, org_id: a.orgId } });
      await expect401(await h.call("/v1/me", { token }));
    }
  });

  it("never fetch keys from a token's jku, x5u or embedded jwk", async () => {
    const rogue = await startRequestCounter();
    try {
      const stranger = await h.auth0.strangerKey();
      const claims = { sub: a.users.admin.sub, org_id: a.orgId };
      for (const header of [
        { jku: `${rogue.url}/jwks.json` },
        { x5u: `${rogue.url}/cert.pem` },
        { jwk: stranger.publicJwk },
        { jku: `${rogue.url}/jwks.json`, kid: "rogue" },
      ]) {
        await expect401(await h.call("/v1/me", { token: await h.auth0.mint({ key: stranger, header, claims }) }));
      }
      expect(rogue.requests()).toBe(0);
    } finally {
      await rogue.close();
    }
  });

  it("refuse expired and not-yet-valid tokens (beyond the small leeway)", async () => {
    await expect401(
      await h.call("/v1/me", { token: await h.auth0.mint({ expiresIn: -120, claims: { sub: a.users.admin.sub, org_id: a.orgId } }) }),
    );
    const nbf = Math.floor(Date.now() / 1000) + 120;
    await expect401(await h.call("/v1/me", { token: await tokenFor(a, "admin", { nbf }) }));
  });

  it("refuse a wrong issuer, a wrong audience and a missing audience", async () => {
    await expect401(await h.call("/v1/me", { token: await tokenFor(a, "admin", { iss: "https://evil.eu.auth0.com/" }) }));
    await expect401(await h.call("/v1/me", { token: await tokenFor(a, "admin", { aud: "https://other-api.example" }) }));
    await expect401(await h.call("/v1/me", { token: await tokenFor(a, "admin", { aud: undefined }) }));
  });

  it("refuse a tampered payload", async () => {
    const [header, , signature] = (await tokenFor(a, "viewer")).split(".");
    const now = Math.floor(Date.now() / 1000);
    const forged = base64UrlJson({
      iss: h.auth0.issuer,
      aud: h.auth0.audience,
      sub: a.users.admin.sub,
      org_id: a.orgId,
      iat: now,
      exp: now + 300,
    });
    await expect401(await h.call("/v1/me", { token: `${header}.${forged}.${signature}` }));
  });

  it("refuse a valid token for an unknown organisation, a non-member, and another tenant's member", async () => {
    await expect401(await h.call("/v1/me", { token: await tokenFor(a, "admin", { org_id: "org_nobody" }) }));
    await expect401(await h.call("/v1/me", { token: await tokenFor(a, "admin", { sub: "auth0|stranger" }) }));
    // B's admin presenting A's organisation: a real user, but not A's.
    await expect401(await h.call("/v1/me", { token: await h.auth0.mint({ claims: { sub: b.users.admin.sub, org_id: a.orgId } }) }));
  });

  it("refuse the token of a user removed from the tenant", async () => {
    const tenant = await createAccessTenant(h.admin.db);
    const token = await tokenFor(tenant, "editor");
    expect((await h.call("/v1/me", { token })).status).toBe(200);
    const removed = await h.call(`/v1/users/${tenant.users.editor.id}`, { method: "DELETE", token: tenant.apiKeys.admin.key });
    expect(removed.status).toBe(204);
    await expect401(await h.call("/v1/me", { token }));
  });
});

describe("API keys", () => {
  it("refuse a revoked key at once", async () => {
    const created = await h.call("/v1/api-keys", {
      method: "POST",
      token: a.apiKeys.admin.key,
      body: { name: "temp", roleId: a.roleIds.viewer },
    });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect((await h.call("/v1/me", { token: key })).status).toBe(200);
    expect((await h.call(`/v1/api-keys/${id}`, { method: "DELETE", token: a.apiKeys.admin.key })).status).toBe(200);
    await expect401(await h.call("/v1/me", { token: key }));
  });

  it("refuse a key with a right public id and a wrong secret", async () => {
    const key = a.apiKeys.admin.key;
    const wrong = `${key.slice(0, -4)}${key.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    await expect401(await h.call("/v1/me", { token: wrong }));
  });
});

describe("security matrix over every /v1 route", () => {
  type Operation = { method: string; path: string; permission: string | null };
  let operations: Operation[];

  beforeAll(async () => {
    const response = await h.call("/v1/openapi.json");
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      paths: Record<string, Record<string, { "x-permission": string | null; security?: unknown[] }>>;
    };
    // Public operations (`security: []`, the OAuth callback) have their own tests (test/e2e/integrations-api.int.test.ts),
    // and so has sign-up, whose bearer is a not-yet-member's Auth0 token (test/e2e/auth0-sign-up.int.test.ts):
    // the matrix covers the member routes, which all name their permission.
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => operation.security?.length !== 0 && "x-permission" in operation)
        .map(([method, operation]) => ({ method: method.toUpperCase(), path, permission: operation["x-permission"] })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(18);
  });

  /** Fills path parameters with ids of the given tenant's records. */
  const idsOf = (tenant: AccessTenant, invitationId: string): Record<string, string> => ({
    roleId: tenant.roleIds.viewer,
    userId: tenant.users.viewer.id,
    apiKeyId: tenant.apiKeys.viewer.id,
    invitationId,
    agentId: tenant.agentId,
    channelId: tenant.channelId,
    conversationId: tenant.conversationId,
    knowledgeBaseId: tenant.knowledgeBaseId,
    sourceId: tenant.sourceId,
    alertRuleId: tenant.alertRuleId,
    toolId: tenant.toolId,
    approvalId: tenant.approvalId,
    connectionId: tenant.connectionId,
    runId: tenant.runId,
    otherRunId: tenant.runId,
    exportId: tenant.exportId,
    importId: tenant.importId,
    // Not an id: provider keys always belong to the caller's own tenant.
    provider: "openai",
    // Not an id either: an end user's channel identity, matched only within the caller's tenant (core/contacts).
    identity: "12025550143",
  });
  /** Bodies valid enough to get past validation, so the existence check is what answers. */
  const sampleBodies: Record<string, object> = {
    "PATCH /v1/agents/{agentId}": { name: "renamed" },
    "POST /v1/agents/{agentId}/rollback": { version: 1 },
    "PATCH /v1/knowledge-bases/{knowledgeBaseId}": { topK: 3 },
    "POST /v1/knowledge-bases/{knowledgeBaseId}/query": { query: "opening hours" },
    "POST /v1/agents/{agentId}/publish": {},
    "POST /v1/agents/{agentId}/test-runs": { suite: { name: "s", cases: [{ name: "c", turns: [{ user: "hi" }] }] } },
    "POST /v1/knowledge-bases/{knowledgeBaseId}/sources": { name: "x.txt", kind: "text", text: "x" },
    "POST /v1/conversations/{conversationId}/messages": { text: "hello from a person" },
    "POST /v1/integrations/{provider}/connect": { method: "oauth" },
    "PUT /v1/integrations/{provider}/agents/{agentId}": { tools: [] },
    "PATCH /v1/integration-connections/{connectionId}": { settings: {} },
    "POST /v1/imports": { exportId: "00000000-0000-4000-8000-000000000000", tenantName: "Copy" },
  };
  const fill = (path: string, ids: Record<string, string>) =>
    path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const id = ids[name];
      if (!id) throw new Error(`The security matrix has no record for path parameter {${name}}: add one to idsOf()`);
      return id;
    });
  const send = (op: Operation, token: string | undefined, ids = idsOf(a, bInvitationId)) =>
    h.call(fill(op.path, ids), {
      method: op.method,
      ...(token !== undefined ? { token } : {}),
      ...(op.method === "GET" || op.method === "DELETE" ? {} : { body: sampleBodies[`${op.method} ${op.path}`] ?? {} }),
    });

  it("no credentials: 401 with a challenge", async () => {
    for (const op of operations) {
      const response = await send(op, undefined);
      expect(response.status, `${op.method} ${op.path}`).toBe(401);
      expect(response.headers.get("www-authenticate"), `${op.method} ${op.path}`).toBe('Bearer realm="agent-platform"');
    }
  });

  it("bad token or key: 401 invalid_token", async () => {
    for (const op of operations) {
      for (const token of ["garbage", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", `ak_${"0".repeat(24)}_${"A".repeat(43)}`]) {
        const response = await send(op, token);
        expect(response.status, `${op.method} ${op.path} ${token}`).toBe(401);
        expect(response.headers.get("www-authenticate"), `${op.method} ${op.path}`).toContain('error="invalid_token"');
      }
    }
  });

  it("viewer on a write: 403, by token and by key", async () => {
    const viewerToken = await tokenFor(a, "viewer");
    // Writes: a POST that only reads (a retrieval test) needs a read permission, which viewers hold.
    for (const op of operations.filter((o) => o.method !== "GET" && o.permission && !o.permission.endsWith(":read"))) {
      for (const token of [viewerToken, a.apiKeys.viewer.key]) {
        const response = await send(op, token);
        expect(response.status, `${op.method} ${op.path}`).toBe(403);
        expect(await response.json(), `${op.method} ${op.path}`).toMatchObject({ error: { code: "FORBIDDEN" } });
      }
    }
  });

  it("editor on user management (users, invitations, roles, API keys, audit): 403", async () => {
    const editorToken = await tokenFor(a, "editor");
    const userManagement = operations.filter((o) => o.permission?.startsWith("users:"));
    expect(userManagement.length).toBeGreaterThanOrEqual(12);
    for (const op of userManagement) {
      const response = await send(op, editorToken);
      expect(response.status, `${op.method} ${op.path}`).toBe(403);
    }
  });

  it("another tenant's ids: 404 and no data, and nothing of theirs changes", async () => {
    const before = await snapshotOf(b);
    for (const op of operations.filter((o) => /\{\w+Id\}/.test(o.path))) {
      for (const token of [a.apiKeys.admin.key, await tokenFor(a, "admin")]) {
        const response = await send(op, token, idsOf(b, bInvitationId));
        expect(response.status, `${op.method} ${op.path}`).toBe(404);
        const text = await response.text();
        for (const secretish of [b.tenantId, b.users.viewer.email, "viewer key"])
          expect(text, `${op.method} ${op.path}`).not.toContain(secretish);
      }
    }
    expect(await snapshotOf(b)).toEqual(before);
  });

  it("another tenant's role in a body: 404", async () => {
    for (const [path, body] of [
      ["/v1/api-keys", { name: "x", roleId: b.roleIds.admin }],
      ["/v1/invitations", { email: "new@example.test", roleId: b.roleIds.admin }],
    ] as const) {
      const response = await h.call(path, { method: "POST", token: a.apiKeys.admin.key, body });
      expect(response.status, path).toBe(404);
    }
    const patch = await h.call(`/v1/users/${a.users.viewer.id}`, {
      method: "PATCH",
      token: a.apiKeys.admin.key,
      body: { roleId: b.roleIds.admin },
    });
    expect(patch.status).toBe(404);
  });
});

async function snapshotOf(tenant: AccessTenant) {
  const db = h.admin.db;
  return JSON.stringify({
    roles: await db.select().from(roles).where(eq(roles.tenantId, tenant.tenantId)).orderBy(roles.id),
    memberships: await db.select().from(memberships).where(eq(memberships.tenantId, tenant.tenantId)).orderBy(memberships.id),
    agents: await db.select().from(agents).where(eq(agents.tenantId, tenant.tenantId)).orderBy(agents.id),
    conversations: await db.select().from(conversations).where(eq(conversations.tenantId, tenant.tenantId)).orderBy(conversations.id),
    apiKeys: (await db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenant.tenantId)).orderBy(apiKeys.id)).map((k) => ({
      ...k,
      lastUsedAt: null,
    })),
    invitations: await db.select().from(invitations).where(eq(invitations.tenantId, tenant.tenantId)).orderBy(invitations.id),
    knowledgeBases: await db.select().from(knowledgeBases).where(eq(knowledgeBases.tenantId, tenant.tenantId)).orderBy(knowledgeBases.id),
    knowledgeSources: await db
      .select()
      .from(knowledgeSources)
      .where(eq(knowledgeSources.tenantId, tenant.tenantId))
      .orderBy(knowledgeSources.id),
  });
}
