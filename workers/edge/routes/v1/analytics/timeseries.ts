import type { RouteHandler } from "@hono/zod-openapi";
import { analyticsTimeseries } from "../../../../../core/analytics/queries";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { timeseriesSchema, seriesQuery } from "./schemas";

export const route = adminRoute("analytics:read", {
  method: "get",
  path: "/timeseries",
  tags: ["Analytics"],
  operationId: "getAnalyticsTimeseries",
  summary: "Activity over time",
  description: "Per hour or day (UTC), zero-filled, optionally one series per channel or agent.",
  request: { query: seriesQuery },
  responses: { 200: jsonResponse(timeseriesSchema, "Activity over time") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, analyticsTimeseries, c.req.valid("query")), 200);
