import type { RouteHandler } from "@hono/zod-openapi";
import { getAlertRule } from "../../../../../core/alerts/rules";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { alertRuleSchema } from "./schemas";

export const route = adminRoute("analytics:read", {
  method: "get",
  path: "/{alertRuleId}",
  tags: ["Alerts"],
  operationId: "getAlertRule",
  summary: "Get an alert rule",
  request: { params: uuidParam("alertRuleId") },
  responses: { 200: jsonResponse(alertRuleSchema, "The alert rule") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, getAlertRule, c.req.valid("param")), 200);
