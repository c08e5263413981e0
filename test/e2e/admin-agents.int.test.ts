import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openProviderKeys } from "../../core/engine/credentials";
import { parseKeyring } from "../../core/crypto/secrets";
import { readTenantSettings } from "../../core/tenants/settings";
import { auditLog, conversations, tenants } from "../../db/schema";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { startAdminApiHarness, type AdminApiHarness } from "../support/admin-api";

/**
 * /v1/agents and /v1/conversations on the real worker (workerd) and database. This file runs the
 * edge on its other database path: the `pg` driver through (wrangler's local) Hyperdrive, with no
 * DATABASE_URL at all; the other admin API files run it on Neon's driver.
 */
let h: AdminApiHarness;
let a: AccessTenant;

type Json = Record<string, unknown> & { data?: Array<Record<string, unknown>>; error?: { code: string; details?: { reason?: string } } };
const json = async (response: Response) => (await response.json()) as Json;

beforeAll(async () => {
  h = await startAdminApiHarness({}, { edgeDatabase: "hyperdrive" });
  a = await createAccessTenant(h.admin.db);
});

afterAll(async () => {
  await h?.stop();
});

const editor = () => a.apiKeys.editor.key;

describe("the edge's database through Hyperdrive", () => {
  it("is ready on the pg driver with no DATABASE_URL bound, and reads tenant data under row-level security", async () => {
    const ready = await h.call("/readyz");
    expect(await ready.json()).toEqual({ status: "ready", checks: { queue: "ok", database: "ok" } });
    const listed = await json(await h.call("/v1/agents", { token: editor() }));
    expect(listed.data?.map((agent) => agent.id)).toContain(a.agentId);
    // Another tenant's agent is invisible through this driver too.
    const other = await createAccessTenant(h.admin.db);
    expect((await h.call(`/v1/agents/${other.agentId}`, { token: editor() })).status).toBe(404);
  });
});

describe("agents", () => {
  it("create, change, list versions, roll back, delete: every change a version, audited", async () => {
    const created = await h.call("/v1/agents", {
      method: "POST",
      token: editor(),
      body: {
        name: "Support",
        systemPrompt: "Answer briefly.",
        temperature: 0.5,
        modelPolicy: { candidates: [{ provider: "openai", model: "gpt-4o-mini" }] },
      },
    });
    expect(created.status).toBe(201);
    const agent = await json(created);
    expect(agent).toMatchObject({ name: "Support", version: 1, temperature: 0.5, memoryWindow: 12, toolIds: [], channelIds: [] });
    const agentId = agent.id as string;

    const updated = await h.call(`/v1/agents/${agentId}?expectedVersion=1`, {
      method: "PATCH",
      token: editor(),
      body: { systemPrompt: "Answer in detail." },
    });
    expect(updated.status).toBe(200);
    // The edit is the draft: channels keep answering with version 1 until it is published.
    expect(await json(updated)).toMatchObject({ version: 2, publishedVersion: 1, systemPrompt: "Answer in detail.", name: "Support" });
    expect(await json(await h.call(`/v1/agents/${agentId}/diff`, { token: a.apiKeys.viewer.key }))).toEqual({
      from: 1,
      to: 2,
      changes: [{ field: "systemPrompt", before: "Answer briefly.", after: "Answer in detail." }],
    });
    expect((await h.call(`/v1/agents/${agentId}/publish`, { method: "POST", token: a.apiKeys.viewer.key, body: {} })).status).toBe(403);
    const published = await h.call(`/v1/agents/${agentId}/publish`, { method: "POST", token: editor(), body: { expectedVersion: 2 } });
    expect(await json(published)).toMatchObject({ version: 2, publishedVersion: 2 });

    const stale = await h.call(`/v1/agents/${agentId}?expectedVersion=1`, {
      method: "PATCH",
      token: editor(),
      body: { name: "Lost update" },
    });
    expect(stale.status).toBe(409);
    expect(await json(stale)).toMatchObject({ error: { code: "CONFLICT", details: { reason: "AGENT_VERSION_CONFLICT" } } });

    const versions = await json(await h.call(`/v1/agents/${agentId}/versions`, { token: a.apiKeys.viewer.key }));
    expect(versions.data!.map((v) => [v.version, v.change])).toEqual([
      [2, "update"],
      [1, "create"],
    ]);

    const rolledBack = await h.call(`/v1/agents/${agentId}/rollback`, { method: "POST", token: editor(), body: { version: 1 } });
    expect(rolledBack.status).toBe(200);
    expect(await json(rolledBack)).toMatchObject({ version: 3, publishedVersion: 3, systemPrompt: "Answer briefly." });

    const listed = await json(await h.call("/v1/agents?limit=100", { token: a.apiKeys.viewer.key }));
    expect(listed.data!.map((x) => x.id)).toContain(agentId);

    expect((await h.call(`/v1/agents/${agentId}`, { method: "DELETE", token: a.apiKeys.admin.key })).status).toBe(204);
    expect((await h.call(`/v1/agents/${agentId}`, { token: editor() })).status).toBe(404);

    const audited = await h.admin.db.select().from(auditLog).where(eq(auditLog.resourceId, agentId));
    expect(audited.map((row) => row.action).sort()).toEqual(
      ["agent.create", "agent.delete", "agent.publish", "agent.publish", "agent.rollback", "agent.update"].sort(),
    );
  });

  it("refuses invalid input with a code and deletes nothing a channel still needs", async () => {
    const invalid = await h.call("/v1/agents", { method: "POST", token: editor(), body: { name: "", systemPrompt: "x", temperature: 9 } });
    expect(invalid.status).toBe(400);
    expect((await json(invalid)).error!.code).toBe("INVALID_BODY");
    const unknownField = await h.call("/v1/agents", {
      method: "POST",
      token: editor(),
      body: { name: "x", systemPrompt: "x", tenantId: a.tenantId },
    });
    expect(unknownField.status).toBe(400);

    const inUse = await h.call(`/v1/agents/${a.agentId}`, { method: "DELETE", token: a.apiKeys.admin.key });
    expect(inUse.status).toBe(409);
    expect(await json(inUse)).toMatchObject({ error: { code: "CONFLICT", details: { reason: "AGENT_IN_USE" } } });
  });
});

describe("conversations", () => {
  it("hands a conversation to a person and releases it", async () => {
    const handedOff = await h.call(`/v1/conversations/${a.conversationId}/handoff`, { method: "POST", token: editor() });
    expect(handedOff.status).toBe(200);
    expect(await json(handedOff)).toMatchObject({ id: a.conversationId, status: "handed_off" });
    const released = await h.call(`/v1/conversations/${a.conversationId}/release`, { method: "POST", token: editor() });
    expect(await json(released)).toMatchObject({ id: a.conversationId, status: "open", handedOffAt: null });
    const [row] = await h.admin.db.select().from(conversations).where(eq(conversations.id, a.conversationId));
    expect(row!.status).toBe("open");
  });
});

describe("tenant provider keys", () => {
  it("seals a key for the engine and never shows it again", async () => {
    const secret = "sk-tenant-own-key-1234567890";
    const admin = a.apiKeys.admin.key;
    const set = await h.call("/v1/tenant/provider-keys/openai", { method: "PUT", token: admin, body: { apiKey: secret } });
    expect(set.status).toBe(200);
    expect(await json(set)).toMatchObject({ openai: { configured: true }, gemini: { configured: false } });

    const wrongShape = await h.call("/v1/tenant/provider-keys/bedrock", { method: "PUT", token: admin, body: { apiKey: secret } });
    expect(wrongShape.status).toBe(400);

    for (const path of ["/v1/tenant", "/v1/tenant/provider-keys", "/v1/audit-log?limit=100"]) {
      expect(await (await h.call(path, { token: admin })).text(), path).not.toContain(secret);
    }
    const [row] = await h.admin.db.select().from(tenants).where(eq(tenants.id, a.tenantId));
    expect(JSON.stringify(row!.settings)).not.toContain(secret);
    const opened = await openProviderKeys(parseKeyring(h.stack.keys.SECRETS_KEYRING), a.tenantId, readTenantSettings(row!.settings));
    expect(opened.credentials.openai).toBe(secret);

    const removed = await h.call("/v1/tenant/provider-keys/openai", { method: "DELETE", token: admin });
    expect(await json(removed)).toMatchObject({ openai: { configured: false } });
  });
});
