import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, tenants } from "../../db/schema";
import { formatChannelAddress } from "../../core/channels/address";
import { telegramWebhookSecret } from "../../core/channels/telegram/webhook-secret";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { textUpdate } from "../support/telegram";
import { startAdminApiHarness, type AdminApiHarness } from "../support/admin-api";

/** The /v1 admin API's happy paths and rules, on the real worker (workerd) and database. */
let h: AdminApiHarness;
let a: AccessTenant;
let b: AccessTenant;
const A_ORIGIN = "https://tenant-a.bubbleapps.io";
const B_ORIGIN = "https://tenant-b.bubbleapps.io";

type Json = Record<string, unknown> & { data?: Array<Record<string, unknown>>; nextCursor?: string | null };
const json = async (response: Response) => (await response.json()) as Json;

beforeAll(async () => {
  h = await startAdminApiHarness();
  a = await createAccessTenant(h.admin.db, { allowedOrigins: [A_ORIGIN] });
  b = await createAccessTenant(h.admin.db, { allowedOrigins: [B_ORIGIN] });
});

afterAll(async () => {
  await h?.stop();
});

const admin = () => a.apiKeys.admin.key;

describe("tenant configuration", () => {
  it("reads and partially updates, audited with before and after, never showing sealed provider keys", async () => {
    const sealed = "v1.k1.aXYaXYaXYaXY.c2VhbGVkLXNlY3JldC1wcm92aWRlci1rZXk";
    await h.admin.db
      .update(tenants)
      .set({ settings: { allowedOrigins: [A_ORIGIN], providerKeys: { openai: sealed } } })
      .where(eq(tenants.id, a.tenantId));
    const read = await h.call("/v1/tenant", { token: a.apiKeys.viewer.key });
    expect(read.status).toBe(200);
    expect(await json(read)).toMatchObject({
      id: a.tenantId,
      locale: "en",
      timezone: "UTC",
      allowedOrigins: [A_ORIGIN],
      auth0OrgId: a.orgId,
    });

    const patch = await h.call("/v1/tenant", {
      method: "PATCH",
      token: admin(),
      body: {
        name: "Acme",
        timezone: "Europe/Paris",
        budget: { monthlyLimitUsd: 50 },
        allowedOrigins: [A_ORIGIN, "https://acme.example/"],
      },
    });
    expect(patch.status).toBe(200);
    const updated = await json(patch);
    expect(updated).toMatchObject({
      name: "Acme",
      locale: "en",
      timezone: "Europe/Paris",
      allowedOrigins: [A_ORIGIN, "https://acme.example"],
    });
    expect(updated.budget).toMatchObject({ monthlyLimitUsd: 50, softLimitRatio: 0.8 });

    const audit = await json(await h.call("/v1/audit-log?resourceType=tenant", { token: admin() }));
    expect(audit.data![0]).toMatchObject({
      action: "tenant.update",
      actor: { type: "api_key", id: a.apiKeys.admin.id },
      before: { timezone: "UTC" },
      after: { timezone: "Europe/Paris", name: "Acme" },
    });
    expect(audit.data![0]!.requestId).toBe(patch.headers.get("x-request-id"));
    expect(JSON.stringify(updated) + JSON.stringify(audit)).not.toContain(sealed);
    const [stored] = await h.admin.db.select().from(tenants).where(eq(tenants.id, a.tenantId));
    expect(stored!.settings).toMatchObject({ providerKeys: { openai: sealed }, timezone: "Europe/Paris" });
  });

  it("rejects bad values with the one error shape", async () => {
    const response = await h.call("/v1/tenant", { method: "PATCH", token: admin(), body: { timezone: "Mars/Olympus", extra: 1 } });
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.error).toMatchObject({ code: "INVALID_BODY", requestId: expect.any(String) });
    const malformed = await h.call("/v1/tenant", { method: "PATCH", token: admin(), body: "{not json" });
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).error).toMatchObject({ code: "INVALID_JSON" });
  });
});

describe("roles", () => {
  it("lists the built-in roles with their permissions from code", async () => {
    const page = await json(await h.call("/v1/roles", { token: admin() }));
    const byName = Object.fromEntries(page.data!.map((r) => [r.name, r]));
    expect(byName.admin!.permissions).toHaveLength(30);
    expect(byName.viewer!.permissions).toContain("agents:read");
    expect(byName.editor!.builtin).toBe(true);
  });

  it("creates, updates and deletes a custom role; built-in ones stay fixed; a role in use stays", async () => {
    const created = await h.call("/v1/roles", {
      method: "POST",
      token: admin(),
      body: { name: "Support", permissions: ["agents:read", "users:read"] },
    });
    expect(created.status).toBe(201);
    const role = await json(created);
    expect((await h.call("/v1/roles", { method: "POST", token: admin(), body: { name: "Support", permissions: [] } })).status).toBe(409);
    const updated = await h.call(`/v1/roles/${role.id}`, {
      method: "PATCH",
      token: admin(),
      body: { permissions: ["agents:read", "agents:write"] },
    });
    expect(await json(updated)).toMatchObject({ name: "Support", permissions: ["agents:read", "agents:write"] });
    expect((await h.call(`/v1/roles/${a.roleIds.viewer}`, { method: "PATCH", token: admin(), body: { name: "x" } })).status).toBe(400);
    expect((await h.call(`/v1/roles/${a.roleIds.viewer}`, { method: "DELETE", token: admin() })).status).toBe(400);

    const key = await json(
      await h.call("/v1/api-keys", { method: "POST", token: admin(), body: { name: "support bot", roleId: role.id } }),
    );
    expect((await h.call(`/v1/roles/${role.id}`, { method: "DELETE", token: admin() })).status).toBe(409);
    await h.call(`/v1/api-keys/${key.id}`, { method: "DELETE", token: admin() });
    // Revoked keys keep their row (audit trail), so the role is still referenced.
    expect((await h.call(`/v1/roles/${role.id}`, { method: "DELETE", token: admin() })).status).toBe(409);
  });

  it("refuses to let anyone grant more than they hold", async () => {
    const limited = await json(
      await h.call("/v1/roles", {
        method: "POST",
        token: admin(),
        body: { name: "Key minter", permissions: ["users:read", "users:write"] },
      }),
    );
    const minter = (
      await json(await h.call("/v1/api-keys", { method: "POST", token: admin(), body: { name: "minter", roleId: limited.id } }))
    ).key as string;
    const escalate = await h.call("/v1/api-keys", { method: "POST", token: minter, body: { name: "root", roleId: a.roleIds.admin } });
    expect(escalate.status).toBe(403);
    const sneaky = await h.call("/v1/roles", { method: "POST", token: minter, body: { name: "Sneaky", permissions: ["settings:write"] } });
    expect(sneaky.status).toBe(403);
    const fine = await h.call("/v1/api-keys", { method: "POST", token: minter, body: { name: "peer", roleId: limited.id } });
    expect(fine.status).toBe(201);
  });
});

describe("API keys", () => {
  it("shows the key once, stores a hash, records last use, and audits without the secret", async () => {
    const created = await h.call("/v1/api-keys", {
      method: "POST",
      token: admin(),
      body: { name: "bubble backend", roleId: a.roleIds.editor },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const key = await json(created);
    expect(key.key).toMatch(/^ak_[0-9a-f]{24}_/);
    const [row] = await h.admin.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.id, key.id as string));
    expect(row!.secretHash).toMatch(/^[0-9a-f]{64}$/);
    // The secret is everything after `ak_<public id>_` (base64url: it may itself contain "_", or start with it).
    expect(JSON.stringify(row)).not.toContain((key.key as string).slice(`ak_${row!.publicId}_`.length));
    expect(row!.lastUsedAt).toBeNull();

    const me = await json(await h.call("/v1/me", { token: key.key as string }));
    expect(me).toMatchObject({ tenantId: a.tenantId, actor: { type: "api_key", id: key.id }, role: { name: "editor" } });
    const [used] = await h.admin.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.id, key.id as string));
    expect(used!.lastUsedAt).not.toBeNull();

    const list = await json(await h.call("/v1/api-keys?limit=100", { token: admin() }));
    const listed = list.data!.find((k) => k.id === key.id)!;
    expect(listed).toMatchObject({
      name: "bubble backend",
      prefix: `${(key.key as string).split("_").slice(0, 2).join("_")}_…`,
      revokedAt: null,
    });
    expect(JSON.stringify(list)).not.toContain(key.key as string);

    const audit = await json(await h.call(`/v1/audit-log?resourceId=${key.id}`, { token: admin() }));
    expect(audit.data![0]).toMatchObject({ action: "api_key.create" });
    expect(JSON.stringify(audit)).not.toContain(key.key as string);
  });
});

describe("invitations and first sign-in", () => {
  it("lets an invited, verified email join on first sign-in, and nobody else", async () => {
    const email = `new-${a.tenantId.slice(0, 8)}@example.test`;
    const invited = await h.call("/v1/invitations", {
      method: "POST",
      token: admin(),
      body: { email: email.toUpperCase(), roleId: a.roleIds.editor },
    });
    expect(invited.status).toBe(201);
    expect(await json(invited)).toMatchObject({ email, status: "pending", role: { name: "editor" } });
    expect((await h.call("/v1/invitations", { method: "POST", token: admin(), body: { email, roleId: a.roleIds.viewer } })).status).toBe(
      409,
    );

    const claims = { sub: "auth0|newcomer", org_id: a.orgId, email, name: "Newcomer" };
    const unverified = await h.call("/v1/me", { token: await h.auth0.mint({ claims: { ...claims, email_verified: false } }) });
    expect(unverified.status).toBe(401);
    const otherOrg = await h.call("/v1/me", {
      token: await h.auth0.mint({ claims: { ...claims, org_id: b.orgId, email_verified: true } }),
    });
    expect(otherOrg.status).toBe(401);

    const joined = await h.call("/v1/me", { token: await h.auth0.mint({ claims: { ...claims, email_verified: true } }) });
    expect(joined.status).toBe(200);
    const me = await json(joined);
    expect(me).toMatchObject({ tenantId: a.tenantId, actor: { type: "user" }, role: { name: "editor" } });

    const users = await json(await h.call("/v1/users?limit=100", { token: admin() }));
    expect(users.data!.find((u) => u.id === (me.actor as { id: string }).id)).toMatchObject({ email, role: { name: "editor" } });
    const invitations = await json(await h.call("/v1/invitations", { token: admin() }));
    expect(invitations.data!.find((i) => i.email === email)).toMatchObject({ status: "accepted" });
    const audit = await json(await h.call("/v1/audit-log?action=invitation.accept", { token: admin() }));
    expect(audit.data).toHaveLength(1);
  });
});

describe("users", () => {
  it("paginate with cursors: every member once", async () => {
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await json(await h.call(`/v1/users?limit=1${cursor ? `&cursor=${cursor}` : ""}`, { token: admin() }));
      expect(page.data!.length).toBeLessThanOrEqual(1);
      seen.push(...page.data!.map((u) => u.id as string));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining([a.users.admin.id, a.users.editor.id, a.users.viewer.id]));
    expect((await h.call("/v1/users?cursor=bogus", { token: admin() })).status).toBe(400);
  });

  it("change roles, and never leave the tenant without an admin", async () => {
    const promoted = await h.call(`/v1/users/${a.users.viewer.id}`, {
      method: "PATCH",
      token: admin(),
      body: { roleId: a.roleIds.editor },
    });
    expect(await json(promoted)).toMatchObject({ role: { name: "editor" } });
    const demoteLast = await h.call(`/v1/users/${a.users.admin.id}`, {
      method: "PATCH",
      token: admin(),
      body: { roleId: a.roleIds.viewer },
    });
    expect(demoteLast.status).toBe(409);
    expect((await h.call(`/v1/users/${a.users.admin.id}`, { method: "DELETE", token: admin() })).status).toBe(409);
  });
});

describe("CORS per tenant", () => {
  const preflight = (origin: string) =>
    h.call("/v1/tenant", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "PATCH", "access-control-request-headers": "authorization" },
    });

  it("answers preflights only for origins some tenant allows", async () => {
    const allowed = await preflight(A_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(A_ORIGIN);
    expect(allowed.headers.get("access-control-allow-headers")).toContain("authorization");
    const stranger = await preflight("https://evil.example");
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets the browser read a tenant's answers only on that tenant's origins", async () => {
    const own = await h.call("/v1/me", { token: admin(), headers: { origin: A_ORIGIN } });
    expect(own.headers.get("access-control-allow-origin")).toBe(A_ORIGIN);
    expect(own.headers.get("vary")).toContain("Origin");
    // B's origin is allowed for B, not for A: A's data must not be readable there.
    const other = await h.call("/v1/me", { token: admin(), headers: { origin: B_ORIGIN } });
    expect(other.status).toBe(200);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const theirs = await h.call("/v1/me", { token: b.apiKeys.viewer.key, headers: { origin: B_ORIGIN } });
    expect(theirs.headers.get("access-control-allow-origin")).toBe(B_ORIGIN);
  });
});

describe("the edge around /v1", () => {
  it("serves the OpenAPI document and docs without credentials, and unknown routes as NOT_FOUND", async () => {
    expect((await h.call("/v1/openapi.json")).status).toBe(200);
    expect((await h.call("/v1/docs")).status).toBe(200);
    const missing = await h.call("/v1/nope", { token: admin() });
    expect(missing.status).toBe(404);
    expect((await json(missing)).error).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("deleting the tenant", () => {
  it("needs the name typed; stops the tenant (403 TENANT_DELETED) but for reading and restoring it; restoring brings it back", async () => {
    // Its own tenant: stopping tenant a would stop the other tests.
    const c = await createAccessTenant(h.admin.db);
    const key = c.apiKeys.admin.key;
    const [row] = await h.admin.db.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, c.tenantId));
    const wrong = await h.call("/v1/tenant", { method: "DELETE", token: key, body: { confirmName: "nope" } });
    expect(wrong.status).toBe(422);
    expect(await json(wrong)).toMatchObject({ error: { code: "INVALID_REQUEST", details: { reason: "CONFIRMATION_MISMATCH" } } });
    const viewer = await h.call("/v1/tenant", { method: "DELETE", token: c.apiKeys.viewer.key, body: { confirmName: row!.name } });
    expect(viewer.status).toBe(403);

    const deleted = await h.call("/v1/tenant", { method: "DELETE", token: key, body: { confirmName: row!.name } });
    expect(deleted.status).toBe(202);
    const dates = await json(deleted);
    expect(Date.parse(String(dates.purgeAfter)) - Date.parse(String(dates.deletionRequestedAt))).toBe(30 * 86_400_000);

    const stopped = await h.call("/v1/agents", { token: key });
    expect(stopped.status).toBe(403);
    const refusal = await json(stopped);
    expect(refusal).toMatchObject({ error: { code: "FORBIDDEN", details: { reason: "TENANT_DELETED" } } });
    expect(JSON.stringify(refusal)).toContain(String(dates.purgeAfter));
    expect((await h.call("/v1/tenant", { token: key })).status).toBe(200);
    // Its webhooks answer 410 at the edge (the TENANT_STATUS list in workerd's KV), with no database read.
    const channel = { tenantId: c.tenantId, channelId: c.channelId };
    const webhook = await h.call(`/webhooks/telegram/${formatChannelAddress(channel)}`, {
      method: "POST",
      headers: { "x-telegram-bot-api-secret-token": await telegramWebhookSecret(h.stack.keys.WEBHOOK_SIGNING_KEY, channel) },
      body: textUpdate("anyone there?"),
    });
    expect(webhook.status).toBe(410);
    // Another tenant is not affected.
    expect((await h.call("/v1/agents", { token: admin() })).status).toBe(200);

    expect((await h.call("/v1/tenant/restore", { method: "POST", token: key })).status).toBe(200);
    expect((await h.call("/v1/agents", { token: key })).status).toBe(200);
    expect((await h.call("/v1/tenant/restore", { method: "POST", token: key })).status).toBe(409);
  });
});
