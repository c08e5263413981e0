import { and, asc, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { stringify } from "yaml";
import { agentTestRuns, channels, conversations, messages, usageRecords, type AgentTestRun } from "../../db/schema";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { DomainError, NotFoundError } from "../errors";
import { actorLabel, type DomainContext } from "./context";
import { agentIdInput, parseOrThrow } from "./input";
import { fetchAgentOrThrow } from "./records";
import { parseTestSuite, testCase as testCaseSchema, type TestCase } from "./test-suite";

/**
 * The test-run verbs: record a run of a suite against the draft or the published version (the
 * pool runs it and writes the results on the row, workers/pool/test-runs.ts), and read runs back.
 */
export const createTestRunInput = z
  .object({
    /** The suite as YAML or JSON text, or as a JSON object (core/agents/test-suite.ts). */
    suite: z.union([z.string().min(1).max(200_000), z.record(z.string(), z.unknown())]),
    version: z.enum(["draft", "published"]).default("draft"),
  })
  .strict();

export const testRunDto = z.object({
  id: z.uuid(),
  agentId: z.uuid(),
  /** The version the suite ran against, and whether it was asked for as the draft or the published one. */
  version: z.number().int(),
  target: z.enum(["draft", "published"]),
  suiteName: z.string(),
  status: z.enum(["running", "passed", "failed", "error"]),
  /** Per case and turn: reply, unmet expectations, tool calls, latency, cost; pass rate and totals. Null while running. */
  results: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type TestRunDto = z.infer<typeof testRunDto>;

/**
 * A run still `running` this long after it started will not finish: the pool runs it in memory, so
 * a pool restart loses it. It is shown as an error (the row is left as it is) and can be run again.
 */
export const TEST_RUN_STALE_MS = 30 * 60_000;

function toDto(row: AgentTestRun, now = Date.now()): TestRunDto {
  const stale = row.status === "running" && now - row.createdAt.getTime() > TEST_RUN_STALE_MS;
  return {
    id: row.id,
    agentId: row.agentId,
    version: row.version,
    target: row.target,
    suiteName: String(row.suite.name ?? ""),
    status: stale ? "error" : row.status,
    results: row.results,
    error: stale ? "The run did not finish (the worker pool may have restarted); run the suite again." : row.error,
    createdBy: row.createdBy,
    createdAt: iso(row.createdAt)!,
    finishedAt: iso(row.finishedAt),
  };
}

/** Checks the suite (line-numbered errors), resolves the version, and records the run as `running`. */
export async function createTestRun({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { agentId: string } & z.input<typeof createTestRunInput>;
}): Promise<TestRunDto> {
  requirePermission(ctx, "agents:write");
  const { agentId } = parseOrThrow(agentIdInput, { agentId: input.agentId });
  const { suite: source, version: target } = parseOrThrow(createTestRunInput, { suite: input.suite, version: input.version });
  const suite = parseTestSuite(source);
  const agent = await fetchAgentOrThrow(ctx, agentId);
  const [row] = await ctx.tx
    .insert(agentTestRuns)
    .values({
      tenantId: ctx.tenantId,
      agentId,
      version: target === "draft" ? agent.currentVersion : agent.publishedVersion,
      target,
      suite: suite as unknown as Record<string, unknown>,
      createdBy: actorLabel(ctx.actor),
    })
    .returning();
  return toDto(row!);
}

/** A run that could not be started (the pool was not reachable) ends as `error` instead of running forever. */
export async function failTestRun({ ctx, input }: { ctx: DomainContext; input: { runId: string; error: string } }): Promise<void> {
  requirePermission(ctx, "agents:write");
  await ctx.tx
    .update(agentTestRuns)
    .set({ status: "error", error: input.error, finishedAt: sql`now()` })
    .where(and(eq(agentTestRuns.tenantId, ctx.tenantId), eq(agentTestRuns.id, input.runId), eq(agentTestRuns.status, "running")));
}

export async function getTestRun({ ctx, input }: { ctx: DomainContext; input: { agentId: string; runId: string } }): Promise<TestRunDto> {
  requirePermission(ctx, "agents:read");
  const [row] = await ctx.tx
    .select()
    .from(agentTestRuns)
    .where(and(eq(agentTestRuns.tenantId, ctx.tenantId), eq(agentTestRuns.agentId, input.agentId), eq(agentTestRuns.id, input.runId)));
  if (!row) throw new DomainError("TEST_RUN_NOT_FOUND", 404, "No such test run.");
  return toDto(row);
}

/** The agent's runs, newest first (the latest 50). */
export async function listTestRuns({ ctx, input }: { ctx: DomainContext; input: { agentId: string } }): Promise<TestRunDto[]> {
  requirePermission(ctx, "agents:read");
  await fetchAgentOrThrow(ctx, input.agentId);
  const rows = await ctx.tx
    .select()
    .from(agentTestRuns)
    .where(and(eq(agentTestRuns.tenantId, ctx.tenantId), eq(agentTestRuns.agentId, input.agentId)))
    .orderBy(desc(agentTestRuns.createdAt))
    .limit(50);
  return rows.map(toDto);
}

/**
 * A test case written from a real conversation: each message the person sent is a user turn (in
 * order), and the tools the agent called answering it become `toolCalled` expectations. Text
 * expectations are left for the author (a model's wording varies); the answer also carries the
 * case as YAML, ready to paste into a suite file.
 */
export async function conversationTestCase({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { conversationId: string };
}): Promise<{ testCase: TestCase; yaml: string }> {
  requirePermission(ctx, "agents:read");
  const [conversation] = await ctx.tx
    .select({ id: conversations.id, externalKey: conversations.externalKey, kind: channels.kind, createdAt: conversations.createdAt })
    .from(conversations)
    .innerJoin(channels, eq(channels.id, conversations.channelId))
    .where(and(eq(conversations.tenantId, ctx.tenantId), eq(conversations.id, input.conversationId)));
  if (!conversation) throw new NotFoundError("conversation");
  const inbound = await ctx.tx
    .select({ id: messages.id, content: messages.content })
    .from(messages)
    .where(and(eq(messages.tenantId, ctx.tenantId), eq(messages.conversationId, conversation.id), eq(messages.direction, "inbound")))
    .orderBy(asc(messages.createdAt))
    .limit(20);
  const calls = await ctx.tx
    .select({ inboundId: messages.replyToMessageId, toolCalls: usageRecords.toolCalls })
    .from(usageRecords)
    .innerJoin(messages, eq(messages.id, usageRecords.messageId))
    .where(and(eq(usageRecords.tenantId, ctx.tenantId), eq(usageRecords.conversationId, conversation.id)));
  const toolsBy = new Map(calls.map((row) => [row.inboundId, [...new Set((row.toolCalls ?? []).map((call) => call.name))]]));
  const turns = inbound
    .filter((message) => message.content.trim())
    .map((message) => {
      const tools = toolsBy.get(message.id) ?? [];
      return { user: message.content.slice(0, 4000), expect: tools.length ? { toolCalled: tools.map((name) => ({ name })) } : {} };
    });
  if (turns.length === 0) throw new DomainError("CONVERSATION_EMPTY", 409, "The conversation has no message from the person to replay.");
  const testCase = parseOrThrow(testCaseSchema, {
    name: `Conversation ${conversation.externalKey} of ${conversation.createdAt.toISOString().slice(0, 10)}`,
    channel: conversation.kind,
    turns,
  });
  return { testCase, yaml: stringify({ cases: [testCase] }) };
}

/** One case in two runs: whether it passed in each (null when the run has no such case) and what failed. */
export interface CaseComparison {
  name: string;
  before: boolean | null;
  after: boolean | null;
  changed: boolean;
  failuresBefore: string[];
  failuresAfter: string[];
}

/**
 * Side by side: two finished runs of the agent (typically the published version and the draft
 * against one suite), case by case, with the cases whose outcome changed marked.
 */
export async function compareTestRuns({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { agentId: string; runId: string; otherRunId: string };
}): Promise<{ before: TestRunDto; after: TestRunDto; cases: CaseComparison[] }> {
  const before = await getTestRun({ ctx, input: { agentId: input.agentId, runId: input.runId } });
  const after = await getTestRun({ ctx, input: { agentId: input.agentId, runId: input.otherRunId } });
  if (!before.results || !after.results) throw new DomainError("TEST_RUN_UNFINISHED", 409, "Compare runs once both have finished.");
  const casesOf = (run: TestRunDto) =>
    new Map(
      ((run.results as { cases?: Array<{ name: string; passed: boolean; turns: Array<{ failures: string[] }> }> }).cases ?? []).map((c) => [
        c.name,
        { passed: c.passed, failures: c.turns.flatMap((turn) => turn.failures) },
      ]),
    );
  const [a, b] = [casesOf(before), casesOf(after)];
  const names = [...new Set([...a.keys(), ...b.keys()])];
  const cases = names.map((name) => {
    const [x, y] = [a.get(name), b.get(name)];
    return {
      name,
      before: x?.passed ?? null,
      after: y?.passed ?? null,
      changed: (x?.passed ?? null) !== (y?.passed ?? null),
      failuresBefore: x?.failures ?? [],
      failuresAfter: y?.failures ?? [],
    };
  });
  return { before, after, cases };
}
