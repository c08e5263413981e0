import { randomUUID } from "node:crypto";
import type { Database } from "./client";
import * as s from "./schema";

/** One row in every tenant-owned table, linked the way the application links them. */
export interface TenantGraph {
  tenant: typeof s.tenants.$inferInsert & { id: string };
  user: typeof s.users.$inferInsert & { id: string };
  rows: {
    roles: s.NewRole;
    memberships: s.NewMembership;
    agents: s.NewAgent;
    channels: s.NewChannel;
    conversations: s.NewConversation;
    messages: s.NewMessage;
    tools: s.NewTool;
    agent_tools: typeof s.agentTools.$inferInsert;
    tool_approvals: typeof s.toolApprovals.$inferInsert;
    knowledge_bases: s.NewKnowledgeBase;
    knowledge_sources: s.NewKnowledgeSource;
    knowledge_chunks: typeof s.knowledgeChunks.$inferInsert;
    usage_records: s.NewUsageRecord;
    agent_versions: s.NewAgentVersion;
    agent_test_runs: typeof s.agentTestRuns.$inferInsert;
    alerts: typeof s.alerts.$inferInsert;
    alert_rules: typeof s.alertRules.$inferInsert;
    analytics_traffic_hourly: typeof s.analyticsTrafficHourly.$inferInsert;
    analytics_usage_hourly: typeof s.analyticsUsageHourly.$inferInsert;
    analytics_tools_hourly: typeof s.analyticsToolsHourly.$inferInsert;
    analytics_end_users_hourly: typeof s.analyticsEndUsersHourly.$inferInsert;
    api_keys: s.NewApiKey;
    invitations: s.NewInvitation;
    audit_log: s.NewAuditRecord;
    integration_connections: typeof s.integrationConnections.$inferInsert;
    oauth_states: typeof s.oauthStates.$inferInsert;
    integration_events: typeof s.integrationEvents.$inferInsert;
    sign_in_links: typeof s.signInLinks.$inferInsert;
    data_transfers: typeof s.dataTransfers.$inferInsert;
    usage_reports: typeof s.usageReports.$inferInsert;
  };
}

/** Drizzle table for each tenant-owned table name, in insertion (foreign key) order. */
export const tenantOwnedTables = {
  roles: s.roles,
  memberships: s.memberships,
  agents: s.agents,
  channels: s.channels,
  conversations: s.conversations,
  messages: s.messages,
  tools: s.tools,
  agent_tools: s.agentTools,
  tool_approvals: s.toolApprovals,
  knowledge_bases: s.knowledgeBases,
  knowledge_sources: s.knowledgeSources,
  knowledge_chunks: s.knowledgeChunks,
  usage_records: s.usageRecords,
  agent_versions: s.agentVersions,
  agent_test_runs: s.agentTestRuns,
  alerts: s.alerts,
  alert_rules: s.alertRules,
  analytics_traffic_hourly: s.analyticsTrafficHourly,
  analytics_usage_hourly: s.analyticsUsageHourly,
  analytics_tools_hourly: s.analyticsToolsHourly,
  analytics_end_users_hourly: s.analyticsEndUsersHourly,
  api_keys: s.apiKeys,
  invitations: s.invitations,
  audit_log: s.auditLog,
  integration_connections: s.integrationConnections,
  oauth_states: s.oauthStates,
  integration_events: s.integrationEvents,
  sign_in_links: s.signInLinks,
  data_transfers: s.dataTransfers,
  usage_reports: s.usageReports,
} as const;

/**
 * Builds (without writing) a fresh tenant with a member user and one row in every tenant-owned
 * table, all with new random ids, for tests that need "a whole tenant" such as isolation checks.
 * Pass `tenantId` to build more rows for an existing tenant.
 */
export function buildTenantGraph(tenantId: string = randomUUID()): TenantGraph {
  const id = () => randomUUID();
  const knowledgeSourceId = id();
  const [userId, roleId, agentId, channelId, conversationId, messageId, toolId, knowledgeBaseId] = [
    id(),
    id(),
    id(),
    id(),
    id(),
    id(),
    id(),
    id(),
  ];
  const tag = tenantId.slice(0, 8) + "-" + userId.slice(0, 8);
  return {
    tenant: { id: tenantId, name: `Tenant ${tag}`, slug: `t-${tag}`, plan: "business" },
    user: { id: userId, authSubject: `auth0|${userId}`, email: `${userId}@example.test`, name: "Test user" },
    rows: {
      roles: { id: roleId, tenantId, name: `role-${tag}`, permissions: ["agents:read"] },
      memberships: { tenantId, userId, roleId },
      agents: { id: agentId, tenantId, name: "Agent", systemPrompt: "Be helpful." },
      channels: { id: channelId, tenantId, agentId, kind: "telegram", name: "Bot" },
      conversations: { id: conversationId, tenantId, channelId, agentId, externalKey: `chat-${tag}` },
      messages: {
        id: messageId,
        tenantId,
        conversationId,
        channelId,
        direction: "inbound",
        providerMessageId: `msg-${tag}`,
        status: "received",
        content: "hello",
      },
      tools: { id: toolId, tenantId, name: `tool-${tag}`, description: "d", method: "GET", urlTemplate: "https://example.test/{q}" },
      agent_tools: { tenantId, agentId, toolId },
      tool_approvals: { tenantId, toolId, conversationId, argumentsHash: `hash-${tag}` },
      knowledge_bases: { id: knowledgeBaseId, tenantId, name: "Docs", embeddingModel: "hashing:v1-384" },
      knowledge_sources: { id: knowledgeSourceId, tenantId, knowledgeBaseId, name: "FAQ", kind: "url", uri: "https://example.test/faq" },
      knowledge_chunks: { tenantId, knowledgeBaseId, sourceId: knowledgeSourceId, chunkIndex: 0, text: "Opening hours: 9 to 5." },
      usage_records: {
        tenantId,
        conversationId,
        messageId,
        agentId,
        model: "m",
        provider: "p",
        inputTokens: 1,
        outputTokens: 2,
        latencyMs: 3,
      },
      agent_versions: {
        tenantId,
        agentId,
        version: 1,
        change: "create",
        createdBy: "system:fixture",
        config: {
          name: "Agent",
          systemPrompt: "Be helpful.",
          modelPolicy: null,
          temperature: 0.3,
          maxOutputTokens: 512,
          memoryWindow: 12,
          toolIds: [],
          builtinTools: [],
          integrationTools: [],
          knowledgeBaseIds: [],
          knowledgeSourceIds: [],
          channelIds: [channelId],
        },
      },
      agent_test_runs: {
        tenantId,
        agentId,
        version: 1,
        target: "published",
        suite: { name: "fixture", cases: [] },
        createdBy: "system:fixture",
      },
      alerts: { tenantId, kind: "fixture", dedupeKey: tag },
      alert_rules: {
        tenantId,
        name: "Quiet",
        condition: { kind: "no_traffic", windowMinutes: 60 },
        delivery: { channel: "email", to: ["ops@example.test"] },
      },
      analytics_traffic_hourly: {
        tenantId,
        hour: new Date("2026-01-01T00:00:00Z"),
        channelId,
        agentId,
        messagesIn: 1,
        responseHistogram: [],
      },
      analytics_usage_hourly: { tenantId, hour: new Date("2026-01-01T00:00:00Z"), channelId, agentId, provider: "p", model: "m", turns: 1 },
      analytics_tools_hourly: { tenantId, hour: new Date("2026-01-01T00:00:00Z"), agentId, tool: "t", calls: 1 },
      analytics_end_users_hourly: { tenantId, hour: new Date("2026-01-01T00:00:00Z"), channelId, agentId, endUser: `user-${tag}` },
      api_keys: { tenantId, name: "key", publicId: `pk${tag.replace(/-/g, "")}`, secretHash: `hash-${tag}`, roleId },
      invitations: { tenantId, email: `invitee-${tag}@example.test`, roleId, expiresAt: new Date(Date.now() + 86_400_000) },
      audit_log: { tenantId, actorType: "system", actorId: "fixture", action: "fixture.create", resourceType: "fixture" },
      // Not a catalogue provider: a graph may be added twice to one tenant (one connection per provider and tenant).
      integration_connections: { tenantId, provider: `fixture-${tag}`, authMethod: "token", credentials: "v1.fixture.AAAA.AAAA" },
      oauth_states: { tenantId, provider: "hubspot", actorId: "system:fixture", expiresAt: new Date(Date.now() + 600_000) },
      integration_events: { tenantId, provider: "stripe", externalId: `evt_${tag}`, kind: "fixture" },
      sign_in_links: { tenantId, userId, tokenHash: `hash-${tag}`, expiresAt: new Date(Date.now() + 600_000) },
      data_transfers: { tenantId, kind: "export", status: "failed", requestedBy: `user:${userId}` },
      usage_reports: {
        tenantId,
        meter: `fixture-${tag}`,
        periodStart: new Date("2026-01-01T00:00:00Z"),
        quantity: 1,
        identifier: `${tenantId}:fixture:${tag}`,
      },
    },
  };
}

/** Writes a graph with an owner connection (bypassing RLS): tenant, user, then every table. */
export async function insertTenantGraph(adminDb: Database, graph: TenantGraph, opts: { withTenant?: boolean } = {}): Promise<void> {
  await adminDb.transaction(async (tx) => {
    if (opts.withTenant !== false) await tx.insert(s.tenants).values(graph.tenant).onConflictDoNothing();
    await tx.insert(s.users).values(graph.user);
    for (const [name, table] of Object.entries(tenantOwnedTables)) {
      let row: unknown = graph.rows[name as keyof TenantGraph["rows"]];
      // An agent as a test sets it up is what answers: its draft is its published version unless the test says otherwise.
      if (name === "agents") row = { publishedVersion: graph.rows.agents.currentVersion ?? 1, ...graph.rows.agents };
      await tx.insert(table).values(row as never);
    }
  });
}
