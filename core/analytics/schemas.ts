import { z } from "zod";

export const MAX_HOURLY_RANGE_DAYS = 31;
export const MAX_DAILY_RANGE_DAYS = 400;

/**
 * The time range of every analytics read: `[from, to)`, ISO 8601 with an offset, default the last
 * 30 days. Rollups are hourly (UTC): an hour counts when it starts inside the range.
 */
export const analyticsRange = z.object({
  from: z.iso.datetime({ offset: true }).optional().describe("Start (inclusive), ISO 8601; default `to` minus 30 days"),
  to: z.iso.datetime({ offset: true }).optional().describe("End (exclusive), ISO 8601; default now"),
  channelId: z.uuid().optional().describe("Only this channel"),
  agentId: z.uuid().optional().describe("Only this agent"),
});

export const timeseriesQuery = analyticsRange.extend({
  granularity: z
    .enum(["hour", "day"])
    .default("day")
    .describe(`Bucket size (UTC). At most ${MAX_HOURLY_RANGE_DAYS} days by hour, ${MAX_DAILY_RANGE_DAYS} by day.`),
  groupBy: z.enum(["none", "channel", "agent"]).default("none").describe("One series per channel or per agent"),
});

export type AnalyticsRangeInput = z.infer<typeof analyticsRange>;
export type TimeseriesInput = z.infer<typeof timeseriesQuery>;

const traffic = {
  messagesIn: z.number().int(),
  messagesOut: z.number().int(),
  conversationsStarted: z.number().int(),
  activeEndUsers: z.number().int(),
  handoffs: z.number().int(),
  avgResponseMs: z.number().nullable().describe("Inbound received → reply sent"),
  p50ResponseMs: z.number().nullable().describe("Upper bound of the histogram bucket holding the median"),
  p95ResponseMs: z.number().nullable().describe("Upper bound of the histogram bucket holding the 95th percentile"),
  p99ResponseMs: z.number().nullable().describe("Upper bound of the histogram bucket holding the 99th percentile"),
  turns: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  costUsd: z.number(),
};

export const summaryDto = z.object({
  from: z.string(),
  to: z.string(),
  ...traffic,
  sendFailures: z.number().int(),
  failedTurns: z.number().int(),
  errorRate: z.number().nullable().describe("(failed turns + failed sends) / turns"),
  fallbacks: z.number().int(),
  budgetBlocked: z.number().int(),
  avgModelLatencyMs: z.number().nullable(),
  toolCalls: z.number().int(),
  toolFailures: z.number().int(),
  knowledgeHits: z.number().int().describe("Knowledge chunks retrieved into prompts"),
});
export type SummaryDto = z.infer<typeof summaryDto>;

export const timeseriesDto = z.object({
  from: z.string(),
  to: z.string(),
  granularity: z.enum(["hour", "day"]),
  groupBy: z.enum(["none", "channel", "agent"]),
  points: z.array(z.object({ start: z.string(), channelId: z.string().optional(), agentId: z.string().optional(), ...traffic })),
});
export type TimeseriesDto = z.infer<typeof timeseriesDto>;

export const modelUsageDto = z.object({
  from: z.string(),
  to: z.string(),
  data: z.array(
    z.object({
      provider: z.string(),
      model: z.string(),
      turns: z.number().int(),
      failedTurns: z.number().int(),
      fallbacks: z.number().int(),
      inputTokens: z.number().int(),
      outputTokens: z.number().int(),
      costUsd: z.number(),
      avgLatencyMs: z.number().nullable(),
    }),
  ),
});

export const toolUsageDto = z.object({
  from: z.string(),
  to: z.string(),
  data: z.array(z.object({ tool: z.string(), calls: z.number().int(), failures: z.number().int() })),
});

export const budgetDto = z.object({
  month: z.string().describe("YYYY-MM (UTC)"),
  monthlyLimitUsd: z.number().describe("0: no budget enforced"),
  softLimitRatio: z.number(),
  spentUsd: z.number(),
  usedRatio: z.number().nullable(),
  state: z.enum(["normal", "soft_limit", "hard_limit"]),
  daily: z.array(z.object({ date: z.string(), costUsd: z.number() })),
  alerts: z.array(z.object({ kind: z.string(), createdAt: z.string() })),
});
