import { and, asc, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { requireWithinPlan } from "../billing/limits";
import { z } from "zod";
import {
  agents,
  agentTestRuns,
  agentVersions,
  knowledgeBases,
  knowledgeSources,
  tenants,
  tools,
  type AgentVersionConfig,
} from "../../db/schema";
import { readTenantSettings } from "../tenants/settings";
import { requirePermission } from "../access/permissions";
import type { DomainContext } from "./context";
import { agentIdInput, createAgentInput, parseOrThrow, updateAgentChanges, type CreateAgentInput, type UpdateAgentChanges } from "./input";
import { DomainError } from "../errors";
import {
  saveVersion,
  publishVersion,
  storedVersionConfig,
  fetchAgentOrThrow,
  channelsByAgent,
  assignChannels,
  checkReferences,
  existingIds,
  recordVersion,
  audit,
  agentColumns,
  configOf,
  toView,
  versionView,
  encodeCursor,
  decodeCursor,
} from "./records";

import type { AgentVersionView, AgentView } from "./records";

export type { AgentVersionView, AgentView };

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
  await requireWithinPlan(ctx, "agents");
  await checkReferences(ctx, config);
  const [agent] = await ctx.tx
    .insert(agents)
    .values({ tenantId: ctx.tenantId, ...agentColumns(config), currentVersion: 1, publishedVersion: 1 })
    .returning();
  await assignChannels(ctx, agent!.id, config.channelIds);
  // A new agent answers at once: its first version is published.
  await recordVersion(ctx, agent!, config, "create", { publish: true });
  await audit(ctx, "agent.create", agent!.id, null, config);
  return toView(agent!, config.channelIds);
}

/**
 * Changes an agent's draft: a new version with the merged configuration, which channels answer
 * with only once it is published (`publish: true` here, or {@link publishAgent}). `expectedVersion`,
 * when given, must be the current version (optimistic concurrency: two editors never overwrite each
 * other silently). A channel can be added here; removing one the agent serves is refused, because a
 * channel always needs an agent: assign it to another agent instead.
 */
export async function updateAgent({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { agentId: string; changes: UpdateAgentChanges; expectedVersion?: number; publish?: boolean };
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
  // A brand-new version has no test run yet: where tests gate publishing, it stays a draft.
  if (input.publish === true) await requirePassingTestRun(ctx, agentId, current.currentVersion + 1);
  return saveVersion(ctx, current, before, next, "update", { publish: input.publish === true });
}

/**
 * Publishes a version (default: the draft): channels answer with it from the next turn. Publishing
 * the version already published changes nothing. `expectedVersion` guards against publishing a
 * draft someone changed since it was reviewed.
 */
export async function publishAgent({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { agentId: string; version?: number; expectedVersion?: number };
}): Promise<AgentView> {
  requirePermission(ctx, "agents:write");
  const { agentId } = parseOrThrow(agentIdInput, { agentId: input.agentId });
  const current = await fetchAgentOrThrow(ctx, agentId, { forUpdate: true });
  if (input.expectedVersion !== undefined && input.expectedVersion !== current.currentVersion) {
    throw new DomainError("AGENT_VERSION_CONFLICT", 409, `the draft is at version ${current.currentVersion}, not ${input.expectedVersion}`);
  }
  const version = input.version ?? current.currentVersion;
  await findVersion(ctx, agentId, version);
  const served = (await channelsByAgent(ctx, [agentId])).get(agentId) ?? [];
  if (version === current.publishedVersion) return toView(current, served);
  await requirePassingTestRun(ctx, agentId, version);
  return toView(await publishVersion(ctx, current, version), served);
}

/** Where the tenant requires it, the newest finished test run of `version` must have passed. */
async function requirePassingTestRun(ctx: DomainContext, agentId: string, version: number): Promise<void> {
  const [tenant] = await ctx.tx.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, ctx.tenantId));
  if (!readTenantSettings(tenant?.settings).requireTestsToPublish) return;
  const [latest] = await ctx.tx
    .select({ status: agentTestRuns.status })
    .from(agentTestRuns)
    .where(
      and(
        eq(agentTestRuns.tenantId, ctx.tenantId),
        eq(agentTestRuns.agentId, agentId),
        eq(agentTestRuns.version, version),
        inArray(agentTestRuns.status, ["passed", "failed", "error"]),
      ),
    )
    .orderBy(desc(agentTestRuns.finishedAt))
    .limit(1);
  if (latest?.status !== "passed") {
    throw new DomainError(
      "TESTS_REQUIRED",
      409,
      latest
        ? `The latest test run of v${version} did not pass; fix the draft and run the suite again before publishing.`
        : `This tenant publishes only tested versions: run the test suite against v${version} first.`,
    );
  }
}

/** The fields a diff compares, in the order the editor shows them. */
const DIFF_FIELDS = [
  "name",
  "systemPrompt",
  "modelPolicy",
  "temperature",
  "maxOutputTokens",
  "memoryWindow",
  "toolIds",
  "builtinTools",
  "integrationTools",
  "knowledgeBaseIds",
  "knowledgeSourceIds",
] as const satisfies ReadonlyArray<keyof AgentVersionConfig>;
// A configuration field added later must be added above too: this fails to compile until it is.
const DIFF_FIELDS_COMPLETE: [Exclude<keyof AgentVersionConfig, (typeof DIFF_FIELDS)[number] | "channelIds">] extends [never]
  ? true
  : never = true;
void DIFF_FIELDS_COMPLETE;

/** A change between two versions: the field, and its value in each. */
export interface AgentFieldChange {
  field: (typeof DIFF_FIELDS)[number];
  before: unknown;
  after: unknown;
}

/**
 * What differs between two versions' configurations (`draft` and `published` name those versions).
 * Channel routing is not part of a version's behaviour and is left out.
 */
export async function diffAgentVersions({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { agentId: string; from: number | "draft" | "published"; to: number | "draft" | "published" };
}): Promise<{ from: number; to: number; changes: AgentFieldChange[] }> {
  requirePermission(ctx, "agents:read");
  const { agentId } = parseOrThrow(agentIdInput, { agentId: input.agentId });
  const agent = await fetchAgentOrThrow(ctx, agentId);
  const resolve = (v: number | "draft" | "published") =>
    v === "draft" ? agent.currentVersion : v === "published" ? agent.publishedVersion : v;
  const [from, to] = [resolve(input.from), resolve(input.to)];
  const [a, b] = [await findVersion(ctx, agentId, from), await findVersion(ctx, agentId, to)];
  const changes = DIFF_FIELDS.map((field) => ({ field, before: a.config[field] ?? null, after: b.config[field] ?? null })).filter(
    (change) => JSON.stringify(change.before) !== JSON.stringify(change.after),
  );
  return { from, to, changes };
}

async function findVersion(ctx: DomainContext, agentId: string, version: number) {
  const [row] = await ctx.tx
    .select()
    .from(agentVersions)
    .where(and(eq(agentVersions.tenantId, ctx.tenantId), eq(agentVersions.agentId, agentId), eq(agentVersions.version, version)));
  if (!row) throw new DomainError("AGENT_VERSION_NOT_FOUND", 404, `agent version ${version} not found`);
  return row;
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
 * Restores an earlier version's configuration as a new version (history is never rewritten) and
 * publishes it: live customers get the earlier behaviour at once. Channel routing is not rolled
 * back: channels stay where they are now.
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
  const target = await findVersion(ctx, agentId, version);
  const served = (await channelsByAgent(ctx, [agentId])).get(agentId) ?? [];
  const before = configOf(current, served);
  const restored: AgentVersionConfig = { ...storedVersionConfig(target.config), channelIds: served };
  // References may have been deleted since that version: keep the ones that still exist.
  restored.toolIds = await existingIds(ctx, tools, restored.toolIds);
  restored.knowledgeBaseIds = await existingIds(ctx, knowledgeBases, restored.knowledgeBaseIds);
  restored.knowledgeSourceIds = await existingIds(ctx, knowledgeSources, restored.knowledgeSourceIds);
  return saveVersion(ctx, current, before, restored, "rollback", { restoredFrom: version, publish: true });
}
