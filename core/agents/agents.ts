import { and, asc, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import {
  agents,
  agentVersions,
  channels,
  knowledgeBases,
  knowledgeSources,
  tools,
  type Agent,
  type AgentVersion,
  type AgentVersionChange,
  type AgentVersionConfig,
} from "../../db/schema";
import { requirePermission } from "../access/permissions";
import { recordAudit } from "../access/audit";
import { actorLabel, type DomainContext } from "./context";
import { agentIdInput, createAgentInput, parseOrThrow, updateAgentChanges, type CreateAgentInput, type UpdateAgentChanges } from "./input";
import { DomainError } from "../errors";

/** An agent as the API shows it: its current configuration and version. */
export interface AgentView extends AgentVersionConfig {
  id: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface AgentVersionView {
  version: number;
  change: AgentVersionChange;
  restoredFrom: number | null;
  createdBy: string;
  createdAt: Date;
  config: AgentVersionConfig;
}

const notFound = () => new DomainError("AGENT_NOT_FOUND", 404, "agent not found");

/**
 * Lists the tenant's agents, oldest first, `limit` at a time; pass `nextCursor` back as `cursor`
 * for the next page.
 */
export async function listAgents({ ctx, input = {} }: { ctx: DomainContext; input?: { limit?: number; cursor?: string } }) {
  requirePermission(ctx, "agents:read");
  const { limit, cursor } = parseOrThrow(
    z.object({ limit: z.number().int().min(1).max(100).default(50), cursor: z.string().max(200).optional() }),
    input,
  );
  const after = cursor ? decodeCursor(cursor) : undefined;
  // Compared in the database: timestamps there have microseconds, JavaScript dates milliseconds.
  const rows = await ctx.tx
    .select()
    .from(agents)
    .where(
      and(
        eq(agents.tenantId, ctx.tenantId),
        isNull(agents.deletedAt),
        after
          ? sql`(${agents.createdAt}, ${agents.id}) > (select a.created_at, a.id from agents a where a.tenant_id = ${ctx.tenantId} and a.id = ${after})`
          : undefined,
      ),
    )
    .orderBy(asc(agents.createdAt), asc(agents.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const served = await channelsByAgent(
    ctx,
    page.map((row) => row.id),
  );
  const last = page.at(-1);
  return {
    agents: page.map((row) => toView(row, served.get(row.id) ?? [])),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : undefined,
  };
}

export async function getAgent({ ctx, input }: { ctx: DomainContext; input: { agentId: string } }): Promise<AgentView> {
  requirePermission(ctx, "agents:read");
  const { agentId } = parseOrThrow(agentIdInput, input);
  const agent = await fetchAgentOrThrow(ctx, agentId);
  return toView(agent, (await channelsByAgent(ctx, [agent.id])).get(agent.id) ?? []);
}

/** Creates an agent at version 1 and assigns it the given channels. */
export async function createAgent({ ctx, input }: { ctx: DomainContext; input: CreateAgentInput }): Promise<AgentView> {
  requirePermission(ctx, "agents:write");
  const config = parseOrThrow(createAgentInput, input);
  await checkReferences(ctx, config);
  const [agent] = await ctx.tx
    .insert(agents)
    .values({ tenantId: ctx.tenantId, ...agentColumns(config), currentVersion: 1 })
    .returning();
  await assignChannels(ctx, agent!.id, config.channelIds);
  await recordVersion(ctx, agent!, config, "create");
  await audit(ctx, "agent.create", agent!.id, null, config);
  return toView(agent!, config.channelIds);
}

/**
 * Changes an agent: a new version with the merged configuration. `expectedVersion`, when given,
 * must be the current version (optimistic concurrency: two editors never overwrite each other
 * silently). A channel can be added here; removing one the agent serves is refused, because a
 * channel always needs an agent: assign it to another agent instead.
 */
export async function updateAgent({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { agentId: string; changes: UpdateAgentChanges; expectedVersion?: number };
}): Promise<AgentView> {
  requirePermission(ctx, "agents:write");
  const { agentId } = parseOrThrow(agentIdInput, { agentId: input.agentId });
  const changes = parseOrThrow(updateAgentChanges, input.changes);
  const current = await fetchAgentOrThrow(ctx, agentId, { forUpdate: true });
  if (input.expectedVersion !== undefined && input.expectedVersion !== current.currentVersion) {
    throw new DomainError("AGENT_VERSION_CONFLICT", 409, `the agent is at version ${current.currentVersion}, not ${input.expectedVersion}`);
  }
  const servedNow = (await channelsByAgent(ctx, [agentId])).get(agentId) ?? [];
  const before = configOf(current, servedNow);
  const next: AgentVersionConfig = { ...before, ...changes };
  if (changes.channelIds) {
    const dropped = servedNow.filter((id) => !changes.channelIds!.includes(id));
    if (dropped.length) {
      throw new DomainError(
        "CHANNEL_NEEDS_AGENT",
        409,
        "a channel this agent serves cannot be left without an agent; assign it to another agent",
        {
          channelIds: dropped,
        },
      );
    }
  }
  await checkReferences(ctx, next);
  return saveVersion(ctx, current, before, next, "update");
}

/**
 * Deletes an agent (soft: conversations, usage and versions keep pointing at it). Refused while a
 * channel still routes to it, so no channel is left unanswered.
 */
export async function deleteAgent({ ctx, input }: { ctx: DomainContext; input: { agentId: string } }): Promise<void> {
  requirePermission(ctx, "agents:delete");
  const { agentId } = parseOrThrow(agentIdInput, input);
  const agent = await fetchAgentOrThrow(ctx, agentId, { forUpdate: true });
  const served = (await channelsByAgent(ctx, [agentId])).get(agentId) ?? [];
  if (served.length) {
    throw new DomainError("AGENT_IN_USE", 409, "the agent still serves channels; assign them to another agent first", {
      channelIds: served,
    });
  }
  await ctx.tx
    .update(agents)
    .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(agents.tenantId, ctx.tenantId), eq(agents.id, agentId)));
  await audit(ctx, "agent.delete", agentId, configOf(agent, []), null);
}

/** Every version of an agent, newest first. */
export async function listAgentVersions({ ctx, input }: { ctx: DomainContext; input: { agentId: string } }): Promise<AgentVersionView[]> {
  requirePermission(ctx, "agents:read");
  const { agentId } = parseOrThrow(agentIdInput, input);
  await fetchAgentOrThrow(ctx, agentId);
  const rows = await ctx.tx
    .select()
    .from(agentVersions)
    .where(and(eq(agentVersions.tenantId, ctx.tenantId), eq(agentVersions.agentId, agentId)))
    .orderBy(desc(agentVersions.version));
  return rows.map(versionView);
}

/**
 * Restores an earlier version's configuration as a new version (history is never rewritten).
 * Channel routing is not rolled back: channels stay where they are now.
 */
export async function rollbackAgent({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { agentId: string; version: number };
}): Promise<AgentView> {
  requirePermission(ctx, "agents:write");
  const { agentId, version } = parseOrThrow(agentIdInput.extend({ version: z.number().int().min(1) }), input);
  const current = await fetchAgentOrThrow(ctx, agentId, { forUpdate: true });
  const [target] = await ctx.tx
    .select()
    .from(agentVersions)
    .where(and(eq(agentVersions.tenantId, ctx.tenantId), eq(agentVersions.agentId, agentId), eq(agentVersions.version, version)));
  if (!target) throw new DomainError("AGENT_VERSION_NOT_FOUND", 404, `agent version ${version} not found`);
  const served = (await channelsByAgent(ctx, [agentId])).get(agentId) ?? [];
  const before = configOf(current, served);
  const restored: AgentVersionConfig = { ...target.config, knowledgeBaseIds: target.config.knowledgeBaseIds ?? [], channelIds: served };
  // References may have been deleted since that version: keep the ones that still exist.
  restored.toolIds = await existingIds(ctx, tools, restored.toolIds);
  restored.knowledgeBaseIds = await existingIds(ctx, knowledgeBases, restored.knowledgeBaseIds);
  restored.knowledgeSourceIds = await existingIds(ctx, knowledgeSources, restored.knowledgeSourceIds);
  return saveVersion(ctx, current, before, restored, "rollback", version);
}

async function saveVersion(
  ctx: DomainContext,
  current: Agent,
  before: AgentVersionConfig,
  next: AgentVersionConfig,
  change: AgentVersionChange,
  restoredFrom?: number,
): Promise<AgentView> {
  const version = current.currentVersion + 1;
  const [updated] = await ctx.tx
    .update(agents)
    .set({ ...agentColumns(next), currentVersion: version, updatedAt: sql`now()` })
    .where(and(eq(agents.tenantId, ctx.tenantId), eq(agents.id, current.id), eq(agents.currentVersion, current.currentVersion)))
    .returning();
  if (!updated) throw new DomainError("AGENT_VERSION_CONFLICT", 409, "the agent changed meanwhile; reload and try again");
  await assignChannels(ctx, current.id, next.channelIds);
  await recordVersion(ctx, updated, next, change, restoredFrom);
  await audit(ctx, `agent.${change}`, current.id, before, next);
  return toView(updated, next.channelIds);
}

async function fetchAgentOrThrow(ctx: DomainContext, agentId: string, options: { forUpdate?: boolean } = {}): Promise<Agent> {
  const query = ctx.tx
    .select()
    .from(agents)
    .where(and(eq(agents.tenantId, ctx.tenantId), eq(agents.id, agentId), isNull(agents.deletedAt)));
  const [agent] = options.forUpdate ? await query.for("update") : await query;
  if (!agent) throw notFound();
  return agent;
}

async function channelsByAgent(ctx: DomainContext, agentIds: string[]): Promise<Map<string, string[]>> {
  const served = new Map<string, string[]>();
  if (agentIds.length === 0) return served;
  const rows = await ctx.tx
    .select({ id: channels.id, agentId: channels.agentId })
    .from(channels)
    .where(and(eq(channels.tenantId, ctx.tenantId), inArray(channels.agentId, agentIds)))
    .orderBy(asc(channels.createdAt), asc(channels.id));
  for (const row of rows) served.set(row.agentId, [...(served.get(row.agentId) ?? []), row.id]);
  return served;
}

async function assignChannels(ctx: DomainContext, agentId: string, channelIds: string[]): Promise<void> {
  if (channelIds.length === 0) return;
  await ctx.tx
    .update(channels)
    .set({ agentId, updatedAt: sql`now()` })
    .where(and(eq(channels.tenantId, ctx.tenantId), inArray(channels.id, channelIds)));
}

/**
 * Every referenced tool, knowledge source and channel must be the tenant's own. Checked with
 * tenant-scoped reads: foreign keys alone would accept another tenant's ids (they bypass RLS).
 */
async function checkReferences(
  ctx: DomainContext,
  config: Pick<AgentVersionConfig, "toolIds" | "knowledgeBaseIds" | "knowledgeSourceIds" | "channelIds">,
) {
  const missing: Record<string, string[]> = {};
  for (const [field, table, ids] of [
    ["toolIds", tools, config.toolIds],
    ["knowledgeBaseIds", knowledgeBases, config.knowledgeBaseIds],
    ["knowledgeSourceIds", knowledgeSources, config.knowledgeSourceIds],
    ["channelIds", channels, config.channelIds],
  ] as const) {
    const found = await existingIds(ctx, table, ids);
    const absent = ids.filter((id) => !found.includes(id));
    if (absent.length) missing[field] = absent;
  }
  if (Object.keys(missing).length) throw new DomainError("INVALID_AGENT", 422, "the agent refers to things that do not exist", missing);
}

async function existingIds(
  ctx: DomainContext,
  table: typeof tools | typeof knowledgeBases | typeof knowledgeSources | typeof channels,
  ids: string[],
): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await ctx.tx
    .select({ id: table.id })
    .from(table)
    .where(and(eq(table.tenantId, ctx.tenantId), inArray(table.id, ids)));
  const found = new Set(rows.map((row) => row.id));
  return ids.filter((id) => found.has(id));
}

async function recordVersion(
  ctx: DomainContext,
  agent: Agent,
  config: AgentVersionConfig,
  change: AgentVersionChange,
  restoredFrom?: number,
) {
  await ctx.tx.insert(agentVersions).values({
    tenantId: ctx.tenantId,
    agentId: agent.id,
    version: agent.currentVersion,
    config,
    change,
    restoredFrom: restoredFrom ?? null,
    createdBy: actorLabel(ctx.actor),
  });
}

async function audit(
  ctx: DomainContext,
  action: string,
  agentId: string,
  before: AgentVersionConfig | null,
  after: AgentVersionConfig | null,
) {
  await recordAudit(ctx, { action, resourceType: "agent", resourceId: agentId, before, after });
}

function agentColumns(config: AgentVersionConfig) {
  const { channelIds: _channels, ...columns } = config;
  return columns;
}

function configOf(agent: Agent, channelIds: string[]): AgentVersionConfig {
  return {
    name: agent.name,
    systemPrompt: agent.systemPrompt,
    modelPolicy: agent.modelPolicy ?? null,
    temperature: agent.temperature,
    maxOutputTokens: agent.maxOutputTokens,
    memoryWindow: agent.memoryWindow,
    toolIds: agent.toolIds,
    builtinTools: agent.builtinTools,
    knowledgeBaseIds: agent.knowledgeBaseIds,
    knowledgeSourceIds: agent.knowledgeSourceIds,
    channelIds,
  };
}

function toView(agent: Agent, channelIds: string[]): AgentView {
  return {
    id: agent.id,
    version: agent.currentVersion,
    ...configOf(agent, channelIds),
    createdAt: agent.createdAt,
    updatedAt: agent.updatedAt,
  };
}

function versionView(row: AgentVersion): AgentVersionView {
  return {
    version: row.version,
    change: row.change,
    restoredFrom: row.restoredFrom,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    config: row.config,
  };
}

/** The cursor is the last agent's id: opaque to callers, and stable under concurrent inserts. */
function encodeCursor(agent: Agent): string {
  return agent.id;
}

function decodeCursor(cursor: string): string {
  if (!z.uuid().safeParse(cursor).success) throw new DomainError("INVALID_CURSOR", 400, "the cursor is not valid");
  return cursor;
}
