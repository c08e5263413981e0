import type { RouteHandler } from "@hono/zod-openapi";
import { analyticsTools } from "../../../../../core/analytics/queries";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { toolUsageSchema, rangeQuery } from "./schemas";

export const route = adminRoute("analytics:read", {
  method: "get",
  path: "/tools",
  tags: ["Analytics"],
  operationId: "getAnalyticsTools",
  summary: "Tool usage and failures",
  description: "Calls and failures per tool.",
  request: { query: rangeQuery },
  responses: { 200: jsonResponse(toolUsageSchema, "Tool usage and failures") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, analyticsTools, c.req.valid("query")), 200);
