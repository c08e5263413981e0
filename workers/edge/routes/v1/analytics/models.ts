import type { RouteHandler } from "@hono/zod-openapi";
import { analyticsModels } from "../../../../../core/analytics/queries";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { modelUsageSchema, rangeQuery } from "./schemas";

export const route = adminRoute("analytics:read", {
  method: "get",
  path: "/models",
  tags: ["Analytics"],
  operationId: "getAnalyticsModels",
  summary: "Tokens and cost by model",
  description: "Per provider and model: turns, failures, fallbacks, tokens, cost and average model latency.",
  request: { query: rangeQuery },
  responses: { 200: jsonResponse(modelUsageSchema, "Tokens and cost by model") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, analyticsModels, c.req.valid("query")), 200);
