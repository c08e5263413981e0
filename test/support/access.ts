import { randomUUID } from "node:crypto";
import { generateApiKey } from "../../core/access/api-key-format";
import { BUILTIN_ROLE_PERMISSIONS, type BuiltinRole } from "../../core/access/permissions";
import type { Database } from "../../db/client";
import {
  agents,
  alertRules,
  apiKeys,
  channels,
  conversations,
  knowledgeBases,
  knowledgeSources,
  memberships,
  roles,
  tenants,
  toolApprovals,
  agentTestRuns,
  integrationConnections,
  tools,
  users,
  dataTransfers,
} from "../../db/schema";

export interface AccessTenant {
  tenantId: string;
  orgId: string;
  roleIds: Record<BuiltinRole, string>;
  /** One member per built-in role. */
  users: Record<BuiltinRole, { id: string; sub: string; email: string }>;
  /** One live API key per built-in role. */
  apiKeys: Record<BuiltinRole, { id: string; key: string }>;
  /** An agent serving one Telegram channel, with one conversation on it. */
  agentId: string;
  channelId: string;
  conversationId: string;
  /** A knowledge base with one (pending) text source. */
  knowledgeBaseId: string;
  sourceId: string;
  /** An email alert rule (analytics module). */
  alertRuleId: string;
  /** A tool with no credentials, and one pending approval request for it in the conversation. */
  toolId: string;
  approvalId: string;
  /** A HubSpot connection (its credentials a placeholder: the matrix never reaches the provider). */
  connectionId: string;
  /** A finished test run of the agent. */
  runId: string;
  /** A failed tenant export and a failed import of it (data transfers). */
  exportId: string;
  importId: string;
}

const BUILTINS: BuiltinRole[] = ["admin", "editor", "viewer"];

/**
 * A fresh tenant for admin API tests, written with the owner connection: an Auth0 organisation id,
 * the built-in roles, an admin, an editor and a viewer member, and an API key per role.
 */
export async function createAccessTenant(adminDb: Database, options: { allowedOrigins?: string[] } = {}): Promise<AccessTenant> {
  const tenantId = randomUUID();
  const tag = tenantId.slice(0, 8);
  const orgId = `org_${tag}`;
  const roleIds = Object.fromEntries(BUILTINS.map((name) => [name, randomUUID()])) as Record<BuiltinRole, string>;
  const people = Object.fromEntries(
    BUILTINS.map((name) => [name, { id: randomUUID(), sub: `auth0|${name}-${tag}`, email: `${name}-${tag}@example.test` }]),
  ) as AccessTenant["users"];
  const keys = {} as AccessTenant["apiKeys"];
  const [agentId, channelId, conversationId, knowledgeBaseId, sourceId] = [
    randomUUID(),
    randomUUID(),
    randomUUID(),
    randomUUID(),
    randomUUID(),
  ];
  const alertRuleId = randomUUID();
  const [toolId, approvalId, connectionId, runId] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const [exportId, importId] = [randomUUID(), randomUUID()];
  await adminDb.transaction(async (tx) => {
    await tx.insert(tenants).values({
      id: tenantId,
      name: `Tenant ${tag}`,
      slug: `t-${tag}`,
      auth0OrgId: orgId,
      settings: { allowedOrigins: options.allowedOrigins ?? [] },
      // Room for what the tests build; the plan limits have tests of their own (core/billing).
      plan: "business",
    });
    for (const name of BUILTINS) {
      await tx.insert(roles).values({ id: roleIds[name], tenantId, name, builtin: true, permissions: [...BUILTIN_ROLE_PERMISSIONS[name]] });
      const person = people[name];
      await tx.insert(users).values({ id: person.id, authSubject: person.sub, email: person.email, name: `${name} person` });
      await tx.insert(memberships).values({ tenantId, userId: person.id, roleId: roleIds[name] });
      const secret = await generateApiKey();
      const id = randomUUID();
      await tx
        .insert(apiKeys)
        .values({ id, tenantId, name: `${name} key`, publicId: secret.publicId, secretHash: secret.secretHash, roleId: roleIds[name] });
      keys[name] = { id, key: secret.key };
    }
    await tx.insert(agents).values({ id: agentId, tenantId, name: `Agent ${tag}`, systemPrompt: "Be helpful." });
    await tx.insert(channels).values({ id: channelId, tenantId, agentId, kind: "telegram", name: `Telegram ${tag}` });
    await tx.insert(agentTestRuns).values({
      id: runId,
      tenantId,
      agentId,
      version: 1,
      target: "published",
      suite: { name: `Suite ${tag}`, cases: [] },
      status: "passed",
      createdBy: "system:test",
    });
    await tx.insert(conversations).values({ id: conversationId, tenantId, channelId, agentId, externalKey: `chat-${tag}` });
    await tx.insert(knowledgeBases).values({ id: knowledgeBaseId, tenantId, name: `Docs ${tag}`, embeddingModel: "hashing:v1-384" });
    await tx.insert(alertRules).values({
      id: alertRuleId,
      tenantId,
      name: `No traffic ${tag}`,
      condition: { kind: "no_traffic", windowMinutes: 60 },
      delivery: { channel: "email", to: [`ops-${tag}@example.test`] },
    });
    await tx.insert(tools).values({
      id: toolId,
      tenantId,
      name: `tool_${tag}`,
      description: "Looks things up.",
      method: "GET",
      urlTemplate: "https://api.example.com/lookup",
    });
    await tx.insert(toolApprovals).values({ id: approvalId, tenantId, toolId, conversationId, argumentsHash: `hash-${tag}` });
    await tx
      .insert(integrationConnections)
      .values({ id: connectionId, tenantId, provider: "hubspot", authMethod: "token", credentials: "v1.placeholder.AAAA.AAAA" });
    await tx.insert(dataTransfers).values([
      { id: exportId, tenantId, kind: "export", status: "failed", requestedBy: "system:test" },
      { id: importId, tenantId, kind: "import", status: "failed", requestedBy: "system:test", sourceExportId: exportId },
    ]);
    await tx
      .insert(knowledgeSources)
      .values({ id: sourceId, tenantId, knowledgeBaseId, name: "notes.txt", kind: "text", body: Buffer.from("hello").toString("base64") });
  });
  return {
    tenantId,
    orgId,
    roleIds,
    users: people,
    apiKeys: keys,
    agentId,
    channelId,
    conversationId,
    knowledgeBaseId,
    sourceId,
    alertRuleId,
    toolId,
    approvalId,
    connectionId,
    runId,
    exportId,
    importId,
  };
}
