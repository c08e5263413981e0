import { and, desc, eq, gte, like, sql, type SQL } from "drizzle-orm";
import { requirePermission } from "../access/permissions";
import type { AccessContext } from "../access/context";
import { budgetMonth, budgetState } from "../engine/budget";
import { readTenantSettings } from "../tenants/settings";
import { alerts, tenants } from "../../db/schema";
import { RESPONSE_BUCKETS_MS } from "./rollup";
import {
  MAX_DAILY_RANGE_DAYS,
  MAX_HOURLY_RANGE_DAYS,
  type AnalyticsRangeInput,
  type SummaryDto,
  type TimeseriesDto,
  type TimeseriesInput,
} from "./schemas";
import { InvalidRequestError } from "../errors";

const DAY_MS = 86_400_000;
const NANO = 1e9;

interface Range {
  from: Date;
  to: Date;
}

/** The validated range: `from` < `to`, within the granularity's limit. */
export function resolveRange(input: AnalyticsRangeInput, granularity: "hour" | "day" = "day", now = new Date()): Range {
  const to = input.to ? new Date(input.to) : now;
  const from = input.from ? new Date(input.from) : new Date(to.getTime() - 30 * DAY_MS);
  if (!(from < to)) throw new InvalidRequestError("`from` must be before `to`.");
  const maxDays = granularity === "hour" ? MAX_HOURLY_RANGE_DAYS : MAX_DAILY_RANGE_DAYS;
  if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
    throw new InvalidRequestError(`The range may span at most ${maxDays} days with granularity=${granularity}.`);
  }
  return { from, to };
}

/**
 * The percentile from merged histogram counts: the upper bound of the bucket holding the rank
 * (nearest-rank), so the answer is exact to the bucket's resolution; past the last bound, that
 * bound. Null without samples.
 */
export function percentileFromHistogram(counts: readonly number[], quantile: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.ceil(quantile * total);
  let seen = 0;
  for (const [index, count] of counts.entries()) {
    seen += count;
    if (seen >= rank) return RESPONSE_BUCKETS_MS[Math.min(index, RESPONSE_BUCKETS_MS.length - 1)]!;
  }
  return RESPONSE_BUCKETS_MS.at(-1)!;
}

const histogramSums = sql.raw(
  Array.from({ length: RESPONSE_BUCKETS_MS.length + 1 }, (_, i) => `coalesce(sum(response_histogram[${i + 1}]), 0)::int as b${i}`).join(
    ", ",
  ),
);
const histogramOf = (row: Record<string, unknown>) =>
  Array.from({ length: RESPONSE_BUCKETS_MS.length + 1 }, (_, i) => Number(row[`b${i}`] ?? 0));

function where(ctx: AccessContext, range: Range, input: AnalyticsRangeInput, options: { channel?: boolean } = {}): SQL {
  const parts = [
    sql`tenant_id = ${ctx.tenantId}`,
    sql`hour >= ${range.from.toISOString()}::timestamptz`,
    sql`hour < ${range.to.toISOString()}::timestamptz`,
  ];
  if (input.agentId) parts.push(sql`agent_id = ${input.agentId}`);
  if (input.channelId && options.channel !== false) parts.push(sql`channel_id = ${input.channelId}`);
  return sql.join(parts, sql` and `);
}

const num = (value: unknown) => Number(value ?? 0);
const avg = (sum: unknown, count: unknown) => (num(count) > 0 ? Math.round(num(sum) / num(count)) : null);
const usd = (nano: unknown) => Math.round(num(nano)) / NANO;

/** Totals over a range, from the hourly rollups. */
export async function analyticsSummary({ ctx, input }: { ctx: AccessContext; input: AnalyticsRangeInput }): Promise<SummaryDto> {
  requirePermission(ctx, "analytics:read");
  const range = resolveRange(input);
  const filter = where(ctx, range, input);
  const traffic = (
    await ctx.tx.execute<Record<string, unknown>>(sql`
      select coalesce(sum(messages_in), 0) as messages_in, coalesce(sum(messages_out), 0) as messages_out,
             coalesce(sum(conversations_started), 0) as conversations_started, coalesce(sum(handoffs), 0) as handoffs,
             coalesce(sum(send_failures), 0) as send_failures, coalesce(sum(responses), 0) as responses,
             coalesce(sum(response_ms_sum), 0) as response_ms_sum, ${histogramSums}
        from analytics_traffic_hourly where ${filter}`)
  ).rows[0]!;
  const usage = (
    await ctx.tx.execute<Record<string, unknown>>(sql`
      select coalesce(sum(turns), 0) as turns, coalesce(sum(failed_turns), 0) as failed_turns, coalesce(sum(budget_blocked), 0) as budget_blocked,
             coalesce(sum(fallbacks), 0) as fallbacks, coalesce(sum(input_tokens), 0) as input_tokens, coalesce(sum(output_tokens), 0) as output_tokens,
             coalesce(sum(cost_nano_usd), 0) as cost, coalesce(sum(model_latency_ms_sum), 0) as latency,
             coalesce(sum(turns) filter (where provider <> 'none'), 0) as model_turns,
             coalesce(sum(tool_calls), 0) as tool_calls, coalesce(sum(tool_failures), 0) as tool_failures, coalesce(sum(knowledge_hits), 0) as knowledge_hits
        from analytics_usage_hourly where ${filter}`)
  ).rows[0]!;
  const users = (
    await ctx.tx.execute<{ n: number }>(sql`select count(distinct end_user)::int as n from analytics_end_users_hourly where ${filter}`)
  ).rows[0]!;
  const turns = num(usage.turns);
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    messagesIn: num(traffic.messages_in),
    messagesOut: num(traffic.messages_out),
    conversationsStarted: num(traffic.conversations_started),
    activeEndUsers: num(users.n),
    handoffs: num(traffic.handoffs),
    avgResponseMs: avg(traffic.response_ms_sum, traffic.responses),
    p50ResponseMs: percentileFromHistogram(histogramOf(traffic), 0.5),
    p95ResponseMs: percentileFromHistogram(histogramOf(traffic), 0.95),
    p99ResponseMs: percentileFromHistogram(histogramOf(traffic), 0.99),
    turns,
    inputTokens: num(usage.input_tokens),
    outputTokens: num(usage.output_tokens),
    costUsd: usd(usage.cost),
    sendFailures: num(traffic.send_failures),
    failedTurns: num(usage.failed_turns),
    errorRate: turns > 0 ? (num(usage.failed_turns) + num(traffic.send_failures)) / turns : null,
    fallbacks: num(usage.fallbacks),
    budgetBlocked: num(usage.budget_blocked),
    avgModelLatencyMs: avg(usage.latency, usage.model_turns),
    toolCalls: num(usage.tool_calls),
    toolFailures: num(usage.tool_failures),
    knowledgeHits: num(usage.knowledge_hits),
  };
}

/** Messages, conversations, users, response times, tokens and cost per hour or day (UTC), zero-filled. */
export async function analyticsTimeseries({ ctx, input }: { ctx: AccessContext; input: TimeseriesInput }): Promise<TimeseriesDto> {
  requirePermission(ctx, "analytics:read");
  const range = resolveRange(input, input.granularity);
  const filter = where(ctx, range, input);
  const unit = sql.raw(`'${input.granularity}'`);
  const key =
    input.groupBy === "channel" ? sql.raw("channel_id::text") : input.groupBy === "agent" ? sql.raw("agent_id::text") : sql.raw("''");
  const bucket = sql`extract(epoch from date_trunc(${unit}, hour, 'UTC'))::float8`;
  // One after another: a transaction's client runs one query at a time on every driver.
  const traffic = await ctx.tx.execute<Record<string, unknown>>(sql`
      select ${bucket} as bucket, ${key} as key, sum(messages_in) as messages_in, sum(messages_out) as messages_out,
             sum(conversations_started) as conversations_started, sum(handoffs) as handoffs, sum(responses) as responses,
             sum(response_ms_sum) as response_ms_sum, ${histogramSums}
        from analytics_traffic_hourly where ${filter} group by 1, 2`);
  const usage = await ctx.tx.execute<Record<string, unknown>>(sql`
      select ${bucket} as bucket, ${key} as key, sum(turns) as turns, sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
             sum(cost_nano_usd) as cost
        from analytics_usage_hourly where ${filter} group by 1, 2`);
  const users = await ctx.tx.execute<Record<string, unknown>>(sql`
      select ${bucket} as bucket, ${key} as key, count(distinct end_user) as n from analytics_end_users_hourly where ${filter} group by 1, 2`);
  const index = (rows: Record<string, unknown>[]) => new Map(rows.map((row) => [`${num(row.bucket) * 1000}|${String(row.key)}`, row]));
  const [t, u, e] = [index(traffic.rows), index(usage.rows), index(users.rows)];
  const keys =
    input.groupBy === "none" ? [""] : [...new Set([...t.values(), ...u.values(), ...e.values()].map((row) => String(row.key)))].sort();
  const step = input.granularity === "hour" ? 3_600_000 : DAY_MS;
  const first = Math.floor(range.from.getTime() / step) * step;
  const points: TimeseriesDto["points"] = [];
  for (let at = first; at < range.to.getTime(); at += step) {
    for (const groupKey of keys) {
      const id = `${at}|${groupKey}`;
      const tr = t.get(id) ?? {};
      const us = u.get(id) ?? {};
      points.push({
        start: new Date(at).toISOString(),
        ...(input.groupBy === "channel" ? { channelId: groupKey } : input.groupBy === "agent" ? { agentId: groupKey } : {}),
        messagesIn: num(tr.messages_in),
        messagesOut: num(tr.messages_out),
        conversationsStarted: num(tr.conversations_started),
        activeEndUsers: num(e.get(id)?.n),
        handoffs: num(tr.handoffs),
        avgResponseMs: avg(tr.response_ms_sum, tr.responses),
        p50ResponseMs: percentileFromHistogram(histogramOf(tr), 0.5),
        p95ResponseMs: percentileFromHistogram(histogramOf(tr), 0.95),
        p99ResponseMs: percentileFromHistogram(histogramOf(tr), 0.99),
        turns: num(us.turns),
        inputTokens: num(us.input_tokens),
        outputTokens: num(us.output_tokens),
        costUsd: usd(us.cost),
      });
    }
  }
  return { from: range.from.toISOString(), to: range.to.toISOString(), granularity: input.granularity, groupBy: input.groupBy, points };
}

/** Tokens, cost, failures and latency by provider and model, most expensive first. */
export async function analyticsModels({ ctx, input }: { ctx: AccessContext; input: AnalyticsRangeInput }) {
  requirePermission(ctx, "analytics:read");
  const range = resolveRange(input);
  const { rows } = await ctx.tx.execute<Record<string, unknown>>(sql`
    select provider, model, sum(turns) as turns, sum(failed_turns) as failed_turns, sum(fallbacks) as fallbacks, sum(input_tokens) as input_tokens,
           sum(output_tokens) as output_tokens, sum(cost_nano_usd) as cost, sum(model_latency_ms_sum) as latency
      from analytics_usage_hourly where ${where(ctx, range, input)} and provider <> 'none'
      group by provider, model order by sum(cost_nano_usd) desc, provider, model`);
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    data: rows.map((row) => ({
      provider: String(row.provider),
      model: String(row.model),
      turns: num(row.turns),
      failedTurns: num(row.failed_turns),
      fallbacks: num(row.fallbacks),
      inputTokens: num(row.input_tokens),
      outputTokens: num(row.output_tokens),
      costUsd: usd(row.cost),
      avgLatencyMs: avg(row.latency, row.turns),
    })),
  };
}

/** Tool calls and failures by tool, most used first. */
export async function analyticsTools({ ctx, input }: { ctx: AccessContext; input: AnalyticsRangeInput }) {
  requirePermission(ctx, "analytics:read");
  const range = resolveRange(input);
  const { rows } = await ctx.tx.execute<Record<string, unknown>>(sql`
    select tool, sum(calls) as calls, sum(failures) as failures from analytics_tools_hourly
      where ${where(ctx, range, input, { channel: false })} group by tool order by sum(calls) desc, tool`);
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    data: rows.map((row) => ({ tool: String(row.tool), calls: num(row.calls), failures: num(row.failures) })),
  };
}

/** This month's spend (UTC) against the tenant's budget, per day, and the budget alerts raised. */
export async function analyticsBudget({ ctx }: { ctx: AccessContext; input?: unknown }) {
  requirePermission(ctx, "analytics:read");
  const now = new Date();
  const month = budgetMonth(now);
  const [tenant] = await ctx.tx.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, ctx.tenantId));
  const { budget } = readTenantSettings(tenant?.settings);
  const { rows } = await ctx.tx.execute<{ day: number; cost: string }>(sql`
    select extract(epoch from date_trunc('day', hour, 'UTC'))::float8 as day, sum(cost_nano_usd)::text as cost
      from analytics_usage_hourly where tenant_id = ${ctx.tenantId} and hour >= ${month.start.toISOString()}::timestamptz
      group by 1 order by 1`);
  const spentNano = rows.reduce((sum, row) => sum + Number(row.cost), 0);
  const raised = await ctx.tx
    .select({ kind: alerts.kind, createdAt: alerts.createdAt })
    .from(alerts)
    .where(and(eq(alerts.tenantId, ctx.tenantId), like(alerts.kind, "budget.%"), gte(alerts.createdAt, month.start)))
    .orderBy(desc(alerts.createdAt))
    .limit(10);
  return {
    month: month.key,
    monthlyLimitUsd: budget.monthlyLimitUsd,
    softLimitRatio: budget.softLimitRatio,
    spentUsd: spentNano / NANO,
    usedRatio: budget.monthlyLimitUsd > 0 ? spentNano / NANO / budget.monthlyLimitUsd : null,
    state: budgetState(budget, spentNano),
    daily: rows.map((row) => ({ date: new Date(num(row.day) * 1000).toISOString().slice(0, 10), costUsd: Number(row.cost) / NANO })),
    alerts: raised.map((row) => ({ kind: row.kind, createdAt: row.createdAt.toISOString() })),
  };
}
