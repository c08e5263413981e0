import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTwoTenantDatabase, type TwoTenantDatabase } from "../../test/support/database";
import type { TenantGraph } from "../../db/fixtures";
import { auditLog, channels, conversations, knowledgeBases } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import {
  diffAgentVersions,
  publishAgent,
  createAgent,
  deleteAgent,
  getAgent,
  handOffConversation,
  listAgents,
  listAgentVersions,
  releaseConversation,
  rollbackAgent,
  updateAgent,
  type DomainContext,
} from "./index";
import { DomainError } from "../errors";
import { ALL_PERMISSIONS, type Permission } from "../access/permissions";
import { listConversations } from "./inbox";

let twoTenants: TwoTenantDatabase;
let admin: TwoTenantDatabase["admin"];
let app: TwoTenantDatabase["app"];
let a: TenantGraph;
let b: TenantGraph;
let aBaseId: string;
let bBaseId: string;

beforeAll(async () => {
  ({ admin, app, a, b } = twoTenants = await createTwoTenantDatabase());
  const base = (graph: TenantGraph) => ({ tenantId: graph.tenant.id, name: "Help centre", embeddingModel: "hashing:v1-384" });
  [{ id: aBaseId }, { id: bBaseId }] = (await admin.db
    .insert(knowledgeBases)
    .values([base(a), base(b)])
    .returning({ id: knowledgeBases.id })) as [{ id: string }, { id: string }];
});

afterAll(() => twoTenants?.close());

const granted: Permission[] = [];
/** Runs a verb as a member of `graph`'s tenant, inside a tenant-scoped transaction, recording permission checks. */
function as<T>(graph: TenantGraph, fn: (ctx: DomainContext) => Promise<T>, allow = true): Promise<T> {
  // A permission set that records every check, so tests can see which permission a verb asked for.
  const permissions = new (class extends Set<Permission> {
    override has(permission: Permission) {
      granted.push(permission);
      return allow && super.has(permission);
    }
  })(ALL_PERMISSIONS);
  return withTenant(app.db, graph.tenant.id, (tx) =>
    fn({
      tenantId: graph.tenant.id,
      actor: { type: "user", id: graph.user.id },
      role: { id: graph.user.id, name: "admin" },
      permissions,
      allowedOrigins: [],
      tx,
    }),
  );
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a domain error");
}

describe("agent verbs", () => {
  it("creates an agent at version 1 with its tools, knowledge and channels, audited", async () => {
    const created = await as(a, (ctx) =>
      createAgent({
        ctx,
        input: {
          name: "Sales",
          systemPrompt: "Sell lamps.",
          modelPolicy: { candidates: [{ provider: "gemini", model: "gemini-2.0-flash" }], rules: [] },
          toolIds: [a.rows.tools.id!],
          builtinTools: ["current_time"],
          knowledgeBaseIds: [aBaseId],
          channelIds: [a.rows.channels.id!],
        },
      }),
    );
    expect(created).toMatchObject({
      name: "Sales",
      version: 1,
      temperature: 0.3,
      memoryWindow: 12,
      toolIds: [a.rows.tools.id],
      knowledgeBaseIds: [aBaseId],
      channelIds: [a.rows.channels.id],
    });
    const [channel] = await admin.db.select().from(channels).where(eq(channels.id, a.rows.channels.id!));
    expect(channel!.agentId).toBe(created.id);
    const versions = await as(a, (ctx) => listAgentVersions({ ctx, input: { agentId: created.id } }));
    expect(versions).toMatchObject([{ version: 1, change: "create", createdBy: `user:${a.user.id}` }]);
    const audits = await admin.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, a.tenant.id), eq(auditLog.resourceId, created.id)));
    expect(audits.map((row) => row.action)).toEqual(["agent.create"]);
  });

  it("versions every change, lists versions, and rolls back as a new version", async () => {
    const agent = await as(a, (ctx) => createAgent({ ctx, input: { name: "Support", systemPrompt: "v1 prompt" } }));
    const v2 = await as(a, (ctx) =>
      updateAgent({ ctx, input: { agentId: agent.id, changes: { systemPrompt: "v2 prompt", temperature: 0.9 }, expectedVersion: 1 } }),
    );
    expect(v2).toMatchObject({ version: 2, systemPrompt: "v2 prompt", temperature: 0.9, name: "Support" });
    const v3 = await as(a, (ctx) => updateAgent({ ctx, input: { agentId: agent.id, changes: { name: "Support desk" } } }));
    expect(v3.version).toBe(3);

    const conflict = await rejection(
      as(a, (ctx) => updateAgent({ ctx, input: { agentId: agent.id, changes: { name: "x" }, expectedVersion: 2 } })),
    );
    expect(conflict).toMatchObject({ code: "AGENT_VERSION_CONFLICT", status: 409 });

    const rolled = await as(a, (ctx) => rollbackAgent({ ctx, input: { agentId: agent.id, version: 1 } }));
    expect(rolled).toMatchObject({ version: 4, systemPrompt: "v1 prompt", temperature: 0.3, name: "Support" });
    const versions = await as(a, (ctx) => listAgentVersions({ ctx, input: { agentId: agent.id } }));
    expect(versions.map((v) => [v.version, v.change, v.restoredFrom])).toEqual([
      [4, "rollback", 1],
      [3, "update", null],
      [2, "update", null],
      [1, "create", null],
    ]);
    expect(versions[2]!.config.systemPrompt).toBe("v2 prompt");
    expect(await as(a, (ctx) => getAgent({ ctx, input: { agentId: agent.id } }))).toMatchObject({ version: 4, systemPrompt: "v1 prompt" });
    const missing = await rejection(as(a, (ctx) => rollbackAgent({ ctx, input: { agentId: agent.id, version: 99 } })));
    expect(missing.code).toBe("AGENT_VERSION_NOT_FOUND");
  });

  it("keeps edits as a draft until published; publishing and rollback are recorded; diffs name the changed fields", async () => {
    const agent = await as(a, (ctx) => createAgent({ ctx, input: { name: "Sales", systemPrompt: "live prompt" } }));
    expect(agent).toMatchObject({ version: 1, publishedVersion: 1 });
    const draft = await as(a, (ctx) =>
      updateAgent({ ctx, input: { agentId: agent.id, changes: { systemPrompt: "draft prompt", temperature: 0.8 } } }),
    );
    expect(draft).toMatchObject({ version: 2, publishedVersion: 1, systemPrompt: "draft prompt" });

    const diff = await as(a, (ctx) => diffAgentVersions({ ctx, input: { agentId: agent.id, from: "published", to: "draft" } }));
    expect(diff).toEqual({
      from: 1,
      to: 2,
      changes: [
        { field: "systemPrompt", before: "live prompt", after: "draft prompt" },
        { field: "temperature", before: 0.3, after: 0.8 },
      ],
    });

    // Publishing what was reviewed: a draft changed since is refused.
    const stale = await rejection(as(a, (ctx) => publishAgent({ ctx, input: { agentId: agent.id, expectedVersion: 1 } })));
    expect(stale).toMatchObject({ code: "AGENT_VERSION_CONFLICT", status: 409 });
    const published = await as(a, (ctx) => publishAgent({ ctx, input: { agentId: agent.id, expectedVersion: 2 } }));
    expect(published).toMatchObject({ version: 2, publishedVersion: 2 });
    const versions = await as(a, (ctx) => listAgentVersions({ ctx, input: { agentId: agent.id } }));
    expect(versions[0]).toMatchObject({ version: 2, publishedBy: `user:${a.user.id}`, publishedAt: expect.any(Date) });
    // Publishing the published version again changes and records nothing.
    await as(a, (ctx) => publishAgent({ ctx, input: { agentId: agent.id } }));

    // Rollback restores version 1's configuration as version 3 and publishes it at once.
    const rolled = await as(a, (ctx) => rollbackAgent({ ctx, input: { agentId: agent.id, version: 1 } }));
    expect(rolled).toMatchObject({ version: 3, publishedVersion: 3, systemPrompt: "live prompt" });
    // Publishing an earlier version by number works too, and an unknown one is refused.
    expect(await as(a, (ctx) => publishAgent({ ctx, input: { agentId: agent.id, version: 2 } }))).toMatchObject({ publishedVersion: 2 });
    const missing = await rejection(as(a, (ctx) => publishAgent({ ctx, input: { agentId: agent.id, version: 9 } })));
    expect(missing.code).toBe("AGENT_VERSION_NOT_FOUND");

    const audits = await admin.db
      .select({ action: auditLog.action, after: auditLog.after })
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, a.tenant.id), eq(auditLog.resourceId, agent.id), eq(auditLog.action, "agent.publish")));
    expect(audits.map((row) => row.after)).toEqual([{ publishedVersion: 2 }, { publishedVersion: 3 }, { publishedVersion: 2 }]);
  });

  it("lists the tenant's agents page by page, never another tenant's", async () => {
    const first = await as(a, (ctx) => listAgents({ ctx, input: { limit: 2 } }));
    expect(first.agents).toHaveLength(2);
    expect(first.nextCursor).toBeDefined();
    const rest = await as(a, (ctx) => listAgents({ ctx, input: { limit: 100, cursor: first.nextCursor } }));
    const ids = [...first.agents, ...rest.agents].map((agent) => agent.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(a.rows.agents.id);
    expect(ids).not.toContain(b.rows.agents.id);
  });

  it("answers 404 for another tenant's agent, and refuses another tenant's tools and channels", async () => {
    const verbs: Array<(ctx: DomainContext) => Promise<unknown>> = [
      (ctx: DomainContext) => getAgent({ ctx, input: { agentId: b.rows.agents.id! } }),
      (ctx: DomainContext) => updateAgent({ ctx, input: { agentId: b.rows.agents.id!, changes: { name: "mine now" } } }),
      (ctx: DomainContext) => deleteAgent({ ctx, input: { agentId: b.rows.agents.id! } }),
      (ctx: DomainContext) => listAgentVersions({ ctx, input: { agentId: b.rows.agents.id! } }),
    ];
    for (const verb of verbs) {
      expect(await rejection(as(a, verb))).toMatchObject({ code: "AGENT_NOT_FOUND", status: 404 });
    }
    const foreign = await rejection(
      as(a, (ctx) =>
        createAgent({
          ctx,
          input: {
            name: "x",
            systemPrompt: "y",
            toolIds: [b.rows.tools.id!],
            knowledgeBaseIds: [bBaseId],
            channelIds: [b.rows.channels.id!],
          },
        }),
      ),
    );
    expect(foreign).toMatchObject({
      code: "INVALID_AGENT",
      status: 422,
      details: { toolIds: [b.rows.tools.id], knowledgeBaseIds: [bBaseId], channelIds: [b.rows.channels.id] },
    });
    const [bChannel] = await admin.db.select().from(channels).where(eq(channels.id, b.rows.channels.id!));
    expect(bChannel!.agentId).toBe(b.rows.agents.id);
  });

  it("validates input with stable codes", async () => {
    const invalid = await rejection(as(a, (ctx) => createAgent({ ctx, input: { name: "", systemPrompt: "y", temperature: 5 } })));
    expect(invalid.code).toBe("INVALID_AGENT");
    expect((invalid.details as Array<{ path: string }>).map((d) => d.path).sort()).toEqual(["name", "temperature"]);
    const badPolicy = await rejection(
      as(a, (ctx) =>
        createAgent({
          ctx,
          input: {
            name: "x",
            systemPrompt: "y",
            modelPolicy: {
              candidates: [{ provider: "openai", model: "gpt-4o-mini" }],
              rules: [{ when: {}, use: [{ provider: "groq", model: "llama3-8b-8192" }] }],
            },
          },
        }),
      ),
    );
    expect(badPolicy.code).toBe("INVALID_AGENT");
  });

  it("refuses to delete an agent that serves channels or to orphan a channel, then deletes softly", async () => {
    const agent = await as(a, (ctx) => createAgent({ ctx, input: { name: "Temp", systemPrompt: "t", channelIds: [a.rows.channels.id!] } }));
    expect(await rejection(as(a, (ctx) => deleteAgent({ ctx, input: { agentId: agent.id } })))).toMatchObject({
      code: "AGENT_IN_USE",
      status: 409,
    });
    expect(await rejection(as(a, (ctx) => updateAgent({ ctx, input: { agentId: agent.id, changes: { channelIds: [] } } })))).toMatchObject({
      code: "CHANNEL_NEEDS_AGENT",
    });
    // Move the channel to another agent, then the first one can go.
    await as(a, (ctx) => updateAgent({ ctx, input: { agentId: a.rows.agents.id!, changes: { channelIds: [a.rows.channels.id!] } } }));
    await as(a, (ctx) => deleteAgent({ ctx, input: { agentId: agent.id } }));
    expect(await rejection(as(a, (ctx) => getAgent({ ctx, input: { agentId: agent.id } })))).toMatchObject({ code: "AGENT_NOT_FOUND" });
    const listed = await as(a, (ctx) => listAgents({ ctx, input: { limit: 100 } }));
    expect(listed.agents.map((x) => x.id)).not.toContain(agent.id);
  });

  it("checks the permission first: a denied write changes nothing", async () => {
    granted.length = 0;
    await expect(as(a, (ctx) => createAgent({ ctx, input: { name: "Denied", systemPrompt: "n" } }), false)).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await expect(as(a, (ctx) => rollbackAgent({ ctx, input: { agentId: "not-even-a-uuid", version: 1 } }), false)).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    expect(granted).toEqual(["agents:write", "agents:write"]);
    const listed = await as(a, (ctx) => listAgents({ ctx, input: { limit: 100 } }));
    expect(listed.agents.map((x) => x.name)).not.toContain("Denied");
    expect(granted.at(-1)).toBe("agents:read");
  });
});

describe("conversation handoff verbs", () => {
  it("hands off and releases a conversation of the tenant, 404 for another tenant's", async () => {
    const id = a.rows.conversations.id!;
    expect(await as(a, (ctx) => handOffConversation({ ctx, input: { conversationId: id } }))).toMatchObject({ status: "handed_off" });
    expect(await as(a, (ctx) => releaseConversation({ ctx, input: { conversationId: id } }))).toEqual({
      id,
      status: "open",
      handedOffAt: null,
    });
    expect(
      await rejection(as(a, (ctx) => releaseConversation({ ctx, input: { conversationId: b.rows.conversations.id! } }))),
    ).toMatchObject({
      code: "CONVERSATION_NOT_FOUND",
      status: 404,
    });
    const [bConversation] = await admin.db.select().from(conversations).where(eq(conversations.id, b.rows.conversations.id!));
    expect(bConversation!.status).toBe("open");
  });
});

describe("conversation inbox", () => {
  it("lists the tenant's conversations with a preview of the newest message, filtered by status, never another tenant's", async () => {
    const page = await as(a, (ctx) => listConversations({ ctx, input: {} }));
    expect(page.data.map((row) => row.id)).toEqual([a.rows.conversations.id]);
    expect(page.data[0]).toMatchObject({
      channelId: a.rows.channels.id,
      channelKind: "telegram",
      channelName: "Bot",
      status: "open",
      lastMessage: { direction: "inbound", preview: "hello" },
    });
    await as(a, (ctx) => handOffConversation({ ctx, input: { conversationId: a.rows.conversations.id! } }));
    try {
      const waiting = await as(a, (ctx) => listConversations({ ctx, input: { status: "handed_off" } }));
      expect(waiting.data.map((row) => row.id)).toEqual([a.rows.conversations.id]);
      expect((await as(a, (ctx) => listConversations({ ctx, input: { status: "closed" } }))).data).toEqual([]);
      // Another tenant's channel id finds nothing (the filter cannot reach across tenants).
      expect((await as(a, (ctx) => listConversations({ ctx, input: { channelId: b.rows.channels.id! } }))).data).toEqual([]);
    } finally {
      await as(a, (ctx) => releaseConversation({ ctx, input: { conversationId: a.rows.conversations.id! } }));
    }
  });
});
