import type { RouteHandler } from "@hono/zod-openapi";
import { analyticsSummary } from "../../../../../core/analytics/queries";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { summarySchema, rangeQuery } from "./schemas";

export const route = adminRoute("analytics:read", {
  method: "get",
  path: "/summary",
  tags: ["Analytics"],
  operationId: "getAnalyticsSummary",
  summary: "Totals over a time range",
  description:
    "Messages, conversations, active end users, handoffs, response times (average and p95), turns, errors, tokens, cost, tools and knowledge hits, served from hourly rollups (refreshed about once a minute).",
  request: { query: rangeQuery },
  responses: { 200: jsonResponse(summarySchema, "Totals over a time range") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, analyticsSummary, c.req.valid("query")), 200);
