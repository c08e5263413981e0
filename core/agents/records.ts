import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
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
import { recordAudit } from "../access/audit";
import { actorLabel, type DomainContext } from "./context";
import { DomainError } from "../errors";

/**
 * The agents verbs' storage helpers: fetch-or-throw, versions, channel assignment, reference
 * checks, views and cursors. The verbs themselves (permission first, audit in the same
 * transaction) are in ./agents.ts.
 */

/** An agent as the API shows it: its current configuration and version. */
export interface AgentView extends AgentVersionConfig {
  id: string;
  /** The draft: the newest version, whose configuration this is. */
  version: number;
  /** The version channels answer with. */
  publishedVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface AgentVersionView {
  version: number;
  change: AgentVersionChange;
  restoredFrom: number | null;
  createdBy: string;
  createdAt: Date;
  publishedAt: Date | null;
  publishedBy: string | null;
  config: AgentVersionConfig;
}

const notFound = () => new DomainError("AGENT_NOT_FOUND", 404, "agent not found");

export async function saveVersion(
  ctx: DomainContext,
  current: Agent,
  before: AgentVersionConfig,
  next: AgentVersionConfig,
  change: AgentVersionChange,
  options: { restoredFrom?: number; publish?: boolean } = {},
): Promise<AgentView> {
  const version = current.currentVersion + 1;
  const [updated] = await ctx.tx
    .update(agents)
    .set({
      ...agentColumns(next),
      currentVersion: version,
      ...(options.publish ? { publishedVersion: version } : {}),
      updatedAt: sql`now()`,
    })
    .where(and(eq(agents.tenantId, ctx.tenantId), eq(agents.id, current.id), eq(agents.currentVersion, current.currentVersion)))
    .returning();
  if (!updated) throw new DomainError("AGENT_VERSION_CONFLICT", 409, "the agent changed meanwhile; reload and try again");
  await assignChannels(ctx, current.id, next.channelIds);
  await recordVersion(ctx, updated, next, change, options);
  await audit(ctx, `agent.${change}`, current.id, before, next);
  if (options.publish) await auditPublish(ctx, current.id, current.publishedVersion, version);
  return toView(updated, next.channelIds);
}

/** Makes `version` (which must exist) the one channels answer with, recorded on the version row and audited. */
export async function publishVersion(ctx: DomainContext, current: Agent, version: number): Promise<Agent> {
  const [updated] = await ctx.tx
    .update(agents)
    .set({ publishedVersion: version, updatedAt: sql`now()` })
    .where(and(eq(agents.tenantId, ctx.tenantId), eq(agents.id, current.id)))
    .returning();
  await ctx.tx
    .update(agentVersions)
    .set({ publishedAt: sql`now()`, publishedBy: actorLabel(ctx.actor) })
    .where(and(eq(agentVersions.tenantId, ctx.tenantId), eq(agentVersions.agentId, current.id), eq(agentVersions.version, version)));
  await auditPublish(ctx, current.id, current.publishedVersion, version);
  return updated!;
}

async function auditPublish(ctx: DomainContext, agentId: string, from: number, to: number) {
  await recordAudit(ctx, {
    action: "agent.publish",
    resourceType: "agent",
    resourceId: agentId,
    before: { publishedVersion: from },
    after: { publishedVersion: to },
  });
}

export async function fetchAgentOrThrow(ctx: DomainContext, agentId: string, options: { forUpdate?: boolean } = {}): Promise<Agent> {
  const query = ctx.tx
    .select()
    .from(agents)
    .where(and(eq(agents.tenantId, ctx.tenantId), eq(agents.id, agentId), isNull(agents.deletedAt)));
  const [agent] = options.forUpdate ? await query.for("update") : await query;
  if (!agent) throw notFound();
  return agent;
}

export async function channelsByAgent(ctx: DomainContext, agentIds: string[]): Promise<Map<string, string[]>> {
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

export async function assignChannels(ctx: DomainContext, agentId: string, channelIds: string[]): Promise<void> {
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
export async function checkReferences(
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

export async function existingIds(
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

export async function recordVersion(
  ctx: DomainContext,
  agent: Agent,
  config: AgentVersionConfig,
  change: AgentVersionChange,
  options: { restoredFrom?: number; publish?: boolean } = {},
) {
  await ctx.tx.insert(agentVersions).values({
    tenantId: ctx.tenantId,
    agentId: agent.id,
    version: agent.currentVersion,
    config,
    change,
    restoredFrom: options.restoredFrom ?? null,
    createdBy: actorLabel(ctx.actor),
    ...(options.publish ? { publishedAt: sql`now()`, publishedBy: actorLabel(ctx.actor) } : {}),
  });
}

export async function audit(
  ctx: DomainContext,
  action: string,
  agentId: string,
  before: AgentVersionConfig | null,
  after: AgentVersionConfig | null,
) {
  await recordAudit(ctx, { action, resourceType: "agent", resourceId: agentId, before, after });
}

/** A stored version's configuration, with the fields versions saved before they existed read as none. */
export function storedVersionConfig(config: AgentVersionConfig): AgentVersionConfig {
  return { ...config, knowledgeBaseIds: config.knowledgeBaseIds ?? [], integrationTools: config.integrationTools ?? [] };
}

export function agentColumns(config: AgentVersionConfig) {
  const { channelIds: _channels, ...columns } = config;
  return columns;
}

export function configOf(agent: Agent, channelIds: string[]): AgentVersionConfig {
  return {
    name: agent.name,
    systemPrompt: agent.systemPrompt,
    modelPolicy: agent.modelPolicy ?? null,
    temperature: agent.temperature,
    maxOutputTokens: agent.maxOutputTokens,
    memoryWindow: agent.memoryWindow,
    toolIds: agent.toolIds,
    builtinTools: agent.builtinTools,
    integrationTools: agent.integrationTools,
    knowledgeBaseIds: agent.knowledgeBaseIds,
    knowledgeSourceIds: agent.knowledgeSourceIds,
    channelIds,
  };
}

export function toView(agent: Agent, channelIds: string[]): AgentView {
  return {
    id: agent.id,
    version: agent.currentVersion,
    publishedVersion: agent.publishedVersion,
    ...configOf(agent, channelIds),
    createdAt: agent.createdAt,
    updatedAt: agent.updatedAt,
  };
}

export function versionView(row: AgentVersion): AgentVersionView {
  return {
    version: row.version,
    change: row.change,
    restoredFrom: row.restoredFrom,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    publishedAt: row.publishedAt,
    publishedBy: row.publishedBy,
    config: row.config,
  };
}

/** The cursor is the last agent's id: opaque to callers, and stable under concurrent inserts. */
export function encodeCursor(agent: Agent): string {
  return agent.id;
}

export function decodeCursor(cursor: string): string {
  if (!z.uuid().safeParse(cursor).success) throw new DomainError("INVALID_CURSOR", 400, "the cursor is not valid");
  return cursor;
}
