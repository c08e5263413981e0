import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signSession } from "../../core/access/sign-in";
import { remapId } from "../../core/data/archive";
import { HashingEmbeddings } from "../../core/knowledge/embeddings";
import { KnowledgeStore } from "../../core/knowledge/store";
import { createPoolDb } from "../../db/client";
import { messages } from "../../db/schema";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { makePdf } from "../support/documents";

/**
 * The knowledge admin API on the real stack: the edge (workerd) stores a source and answers 202,
 * the job goes through the knowledge jobs queue (fauxqs) to a pool process, which parses, embeds
 * and writes to the real Chroma server; status is read back through the API.
 */
let database: TestDatabase;
let stack: LocalStack;
let admin: ReturnType<typeof createPoolDb>;
let tenant: AccessTenant;
let key: string;

const call = async (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => {
  const response = await fetch(`${stack.edge.url}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${init.token ?? key}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
};

/** Polls the source until it leaves pending/indexing (the test's own timeout bounds it). */
async function settled(baseId: string, sourceId: string) {
  for (;;) {
    const { body } = await call(`/v1/knowledge-bases/${baseId}/sources/${sourceId}`);
    if (body.status === "ready" || body.status === "failed") return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  stack = await startLocalStack({
    database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
    withChroma: true,
    withPool: true,
    output: "quiet",
    poolEnv: { POOL_WAIT_TIME_SECONDS: "1", LOG_LEVEL: "warn" },
  });
  admin = createPoolDb(database.adminUrl, { max: 2 });
  tenant = await createAccessTenant(admin.db);
  key = tenant.apiKeys.admin.key;
}, 120_000);

afterAll(async () => {
  await admin?.close();
  await stack?.stop();
  await database?.close();
});

describe("/v1/knowledge-bases", () => {
  let baseId: string;

  it("creates a base with the offline embedding by default; the model cannot change later", async () => {
    const created = await call("/v1/knowledge-bases", { method: "POST", body: { name: "Help centre", chunkSize: 400, chunkOverlap: 40 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "Help centre",
      embeddingModel: "hashing:v1-384",
      chunkSize: 400,
      chunkOverlap: 40,
      topK: 4,
      mmr: false,
    });
    baseId = String(created.body.id);
    const change = await call(`/v1/knowledge-bases/${baseId}`, {
      method: "PATCH",
      body: { embeddingModel: "openai:text-embedding-3-small" },
    });
    expect(change.status).toBe(400);
    expect(change.body).toMatchObject({ error: { code: "INVALID_BODY" } });
    const patched = await call(`/v1/knowledge-bases/${baseId}`, { method: "PATCH", body: { topK: 6, mmr: true } });
    expect(patched.body).toMatchObject({ topK: 6, mmr: true, embeddingModel: "hashing:v1-384" });
    const list = await call("/v1/knowledge-bases", { token: tenant.apiKeys.viewer.key });
    expect(list.status).toBe(200);
    expect((list.body.data as Array<{ id: string }>).map((b) => b.id)).toContain(baseId);
  });

  it("accepts an upload with 202, indexes it in the pool, lists it ready; deleting removes its chunks", async () => {
    const accepted = await call(`/v1/knowledge-bases/${baseId}/sources`, {
      method: "POST",
      body: { name: "faq.md", kind: "markdown", text: "# Opening hours\n\nWe open at nine." },
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: "pending", kind: "markdown", knowledgeBaseId: baseId });
    expect(JSON.stringify(accepted.body)).not.toContain("We open at nine");
    const sourceId = String(accepted.body.id);
    const ready = await settled(baseId, sourceId);
    expect(ready).toMatchObject({ status: "ready", error: null });
    expect(ready.chunkCount).toBeGreaterThan(0);
    const store = KnowledgeStore.connect(stack.chroma!.url);
    const scope = { tenantId: tenant.tenantId, knowledgeBaseId: baseId };
    expect(await store.countChunks(scope)).toBe(ready.chunkCount);

    const listed = await call(`/v1/knowledge-bases/${baseId}/sources`);
    expect((listed.body.data as Array<{ id: string; status: string }>).find((s) => s.id === sourceId)?.status).toBe("ready");

    // The retrieval test: what a turn would retrieve, from the pool, nothing recorded.
    const tried = await call(`/v1/knowledge-bases/${baseId}/query`, { method: "POST", body: { query: "When do you open?" } });
    expect(tried.status).toBe(200);
    const chunks = tried.body.chunks as Array<{ sourceId: string; sourceName: string; score: number; text: string }>;
    expect(chunks[0]).toMatchObject({ sourceId, sourceName: "faq.md", text: expect.stringContaining("We open at nine") });
    expect(chunks[0]!.score).toBeGreaterThan(0);
    expect(tried.body.latencyMs).toEqual(expect.any(Number));
    expect((await call(`/v1/knowledge-bases/${baseId}/query`, { method: "POST", body: { query: "  " } })).status).toBe(400);
    const other = await createAccessTenant(admin.db);
    const theirs = await call(`/v1/knowledge-bases/${baseId}/query`, {
      method: "POST",
      body: { query: "open?" },
      token: other.apiKeys.admin.key,
    });
    expect(theirs.status).toBe(404);

    const resync = await call(`/v1/knowledge-bases/${baseId}/sources/${sourceId}/resync`, { method: "POST", body: {} });
    expect(resync.status).toBe(202);

    expect((await call(`/v1/knowledge-bases/${baseId}/sources/${sourceId}`, { method: "DELETE" })).status).toBe(204);
    expect((await call(`/v1/knowledge-bases/${baseId}/sources/${sourceId}`)).status).toBe(404);
    while ((await store.countChunks(scope)) > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  });

  it("a corrupt PDF ends failed with a readable error", async () => {
    const broken = Buffer.from("%PDF-1.4\nnot really").toString("base64");
    const accepted = await call(`/v1/knowledge-bases/${baseId}/sources`, {
      method: "POST",
      body: { name: "broken.pdf", kind: "pdf", contentBase64: broken },
    });
    expect(accepted.status).toBe(202);
    expect(await settled(baseId, String(accepted.body.id))).toMatchObject({
      status: "failed",
      error: "the PDF file could not be read: it is damaged or not a PDF",
    });
    const good = await call(`/v1/knowledge-bases/${baseId}/sources`, {
      method: "POST",
      body: { name: "manual.pdf", kind: "pdf", contentBase64: Buffer.from(makePdf(["Descale the machine monthly."])).toString("base64") },
    });
    expect(await settled(baseId, String(good.body.id))).toMatchObject({ status: "ready" });
  });

  it("refuses bad input with stable codes", async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ name: "a", kind: "pdf", text: "not binary" }, 400, "INVALID_BODY"],
      [{ name: "a", kind: "text" }, 400, "INVALID_BODY"],
      [{ name: "a", kind: "url", url: "ftp://example.com/x" }, 400, "INVALID_BODY"],
      [{ name: "a", kind: "url", url: "http://127.0.0.1:8080/admin" }, 400, "INVALID_REQUEST"],
      [{ name: "a", kind: "url", url: "http://[::1]/" }, 400, "INVALID_REQUEST"],
    ];
    for (const [body, status, code] of cases) {
      const response = await call(`/v1/knowledge-bases/${baseId}/sources`, { method: "POST", body });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body, JSON.stringify(body)).toMatchObject({ error: { code } });
    }
  });

  it("attaches the base to an agent through /v1/agents; a base of no one's is refused", async () => {
    const attached = await call(`/v1/agents/${tenant.agentId}`, { method: "PATCH", body: { knowledgeBaseIds: [baseId] } });
    expect(attached.status).toBe(200);
    expect(attached.body).toMatchObject({ knowledgeBaseIds: [baseId], knowledgeSourceIds: [] });
    expect((await call(`/v1/agents/${tenant.agentId}`)).body).toMatchObject({ knowledgeBaseIds: [baseId] });
    const unknown = "00000000-0000-4000-8000-000000000001";
    const refused = await call(`/v1/agents/${tenant.agentId}`, { method: "PATCH", body: { knowledgeBaseIds: [unknown] } });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({
      error: { code: "INVALID_REQUEST", details: { reason: "INVALID_AGENT", issues: { knowledgeBaseIds: [unknown] } } },
    });
  });

  it("lists a conversation's messages with citations", async () => {
    const response = await call(`/v1/conversations/${tenant.conversationId}/messages`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: [], nextCursor: null });
  });

  it("deleting the base drops its collection, once no agent answers from it", async () => {
    const inUse = await call(`/v1/knowledge-bases/${baseId}`, { method: "DELETE" });
    expect(inUse.status).toBe(409);
    expect(inUse.body).toMatchObject({ error: { code: "CONFLICT" } });
    expect(JSON.stringify(inUse.body)).toMatch(/attached to agents \(Agent /);
    expect((await call(`/v1/agents/${tenant.agentId}`, { method: "PATCH", body: { knowledgeBaseIds: [] } })).status).toBe(200);
    expect((await call(`/v1/knowledge-bases/${baseId}`, { method: "DELETE" })).status).toBe(204);
    expect((await call(`/v1/knowledge-bases/${baseId}`)).status).toBe(404);
  });
});

describe("/v1/contacts", () => {
  it("exports an end user's conversation, and erasing them deletes it and, through the pool, the agent's memory of them", async () => {
    const identity = "+1 202 555 0199";
    const senderId = "12025550199";
    await admin.db.insert(messages).values({
      tenantId: tenant.tenantId,
      conversationId: tenant.conversationId,
      channelId: tenant.channelId,
      direction: "inbound",
      providerMessageId: "contact-1",
      status: "received",
      content: "My name is Grace and I live at 12 Harbour Road",
      sender: { id: senderId },
    });
    const store = KnowledgeStore.connect(stack.chroma!.url);
    const endUser = `${tenant.channelId}:${senderId}`;
    const embedding = new HashingEmbeddings().embed("where do I live");
    await store.rememberTurn({
      tenantId: tenant.tenantId,
      endUser,
      conversationId: tenant.conversationId,
      messageId: "00000000-0000-4000-8000-00000000beef",
      text: "Customer: I live at 12 Harbour Road\nAgent: Noted.",
      at: new Date(Date.now() - 60_000),
      embedding,
    });
    const recall = () => store.recallTurns({ tenantId: tenant.tenantId, endUser, before: new Date(), k: 3, minScore: 0 }, embedding);
    expect(await recall()).toHaveLength(1);

    const exported = await call(`/v1/contacts/${encodeURIComponent(identity)}/export`);
    expect(exported.status).toBe(200);
    expect(JSON.stringify(exported.body)).toContain("12 Harbour Road");

    const erased = await call(`/v1/contacts/${encodeURIComponent(identity)}`, { method: "DELETE" });
    expect(erased).toMatchObject({ status: 200, body: { conversationsDeleted: 1, memoryForgetQueued: true } });
    expect((await call(`/v1/contacts/${encodeURIComponent(identity)}/export`)).status).toBe(404);
    await vi.waitFor(async () => expect(await recall()).toEqual([]), { timeout: 30_000, interval: 200 });
  });
});

describe("/v1/exports and /v1/imports", () => {
  it("exports the tenant through the pool to S3 with a presigned download, and imports it into a new tenant", async () => {
    const added = await call(`/v1/knowledge-bases/${tenant.knowledgeBaseId}/sources`, {
      method: "POST",
      body: { name: "returns.md", kind: "markdown", text: "# Returns\n\nReturns are free within 30 days." },
    });
    const source = await settled(tenant.knowledgeBaseId, String(added.body.id));
    expect(source.status).toBe("ready");
    expect((await call("/v1/exports", { method: "POST", token: tenant.apiKeys.editor.key })).status).toBe(403);
    const started = await call("/v1/exports", { method: "POST" });
    expect(started.status).toBe(202);
    const exportId = String(started.body.id);
    const ready = await vi.waitFor(
      async () => {
        const { body } = await call(`/v1/exports/${exportId}`);
        expect(body.status).toBe("ready");
        return body as {
          bytes: number;
          sha256: string;
          download: { url: string; expiresAt: string };
          progress: { rows: Record<string, number> };
        };
      },
      { timeout: 60_000, interval: 200 },
    );
    expect(ready.progress.rows.knowledge_bases).toBeGreaterThan(0);
    expect(JSON.stringify(ready)).not.toContain("objectKey");
    expect(new Date(ready.download.expiresAt).getTime() - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(ready.download.url).toContain("X-Amz-Signature=");
    const archive = Buffer.from(await (await fetch(ready.download.url)).arrayBuffer());
    expect(archive.length).toBe(ready.bytes);
    expect(createHash("sha256").update(archive).digest("hex")).toBe(ready.sha256);
    expect(archive.subarray(0, 100).toString("latin1")).toContain("manifest.json");

    const other = await createAccessTenant(admin.db);
    expect((await call(`/v1/exports/${exportId}`, { token: other.apiKeys.admin.key })).status).toBe(404);
    expect(
      (await call("/v1/imports", { method: "POST", token: other.apiKeys.admin.key, body: { exportId, tenantName: "Not yours" } })).status,
    ).toBe(404);
    for (const body of [
      { exportId: "not-a-uuid", tenantName: "Copy" },
      { exportId, tenantName: "C" },
      { exportId, tenantName: "Copy", extra: 1 },
    ]) {
      const bad = await call("/v1/imports", { method: "POST", body });
      expect(bad, JSON.stringify(body)).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } });
    }
    expect((await call("/v1/exports/not-a-uuid")).body).toMatchObject({ error: { code: "INVALID_PARAMS" } });
    const byKey = await call("/v1/imports", { method: "POST", body: { exportId, tenantName: "Copy" } });
    expect(byKey).toMatchObject({ status: 400, body: { error: { code: "INVALID_REQUEST", details: { reason: "USER_REQUIRED" } } } });

    const session = await signSession(stack.keys.WEBHOOK_SIGNING_KEY, { tenantId: tenant.tenantId, userId: tenant.users.admin.id });
    const imported = await call("/v1/imports", { method: "POST", token: session.accessToken, body: { exportId, tenantName: "Docs copy" } });
    expect(imported.status).toBe(202);
    const newTenantId = String(imported.body.targetTenantId);
    await vi.waitFor(async () => expect((await call(`/v1/imports/${String(imported.body.id)}`)).body.status).toBe("ready"), {
      timeout: 60_000,
      interval: 200,
    });
    // The pool builds the new tenant's collection from the imported chunks right after the rows (the
    // import reads ready a moment before).
    const store = KnowledgeStore.connect(stack.chroma!.url);
    await expect
      .poll(() => store.countChunks({ tenantId: newTenantId, knowledgeBaseId: remapId(tenant.knowledgeBaseId, newTenantId) }), {
        timeout: 30_000,
        interval: 200,
      })
      .toBe(source.chunkCount);
    // The importer signs in to the new tenant as its admin and finds the knowledge base under its new id.
    const newSession = await signSession(stack.keys.WEBHOOK_SIGNING_KEY, { tenantId: newTenantId, userId: tenant.users.admin.id });
    const bases = await call("/v1/knowledge-bases", { token: newSession.accessToken });
    expect(bases.status).toBe(200);
    const names = (bases.body.data as Array<{ id: string; name: string }>).map((base) => base.name);
    expect(names).toContain(`Docs ${tenant.tenantId.slice(0, 8)}`);
    expect((bases.body.data as Array<{ id: string }>).map((base) => base.id)).not.toContain(tenant.knowledgeBaseId);
  });
});
