import type { RouteHandler } from "@hono/zod-openapi";
import { analyticsBudget } from "../../../../../core/analytics/queries";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { budgetSchema } from "./schemas";

export const route = adminRoute("analytics:read", {
  method: "get",
  path: "/budget",
  tags: ["Analytics"],
  operationId: "getAnalyticsBudget",
  summary: "Budget consumption this month",
  description: "This month's spend (UTC) against the tenant's monthly budget, per day, with the budget alerts raised.",
  responses: { 200: jsonResponse(budgetSchema, "Budget consumption this month") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, analyticsBudget, {}), 200);
