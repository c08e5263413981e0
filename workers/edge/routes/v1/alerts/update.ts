import type { RouteHandler } from "@hono/zod-openapi";
import { updateAlertRule } from "../../../../../core/alerts/rules";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { createdAlertRuleSchema, updateAlertRuleSchema } from "./schemas";

export const route = adminRoute("analytics:write", {
  method: "patch",
  path: "/{alertRuleId}",
  tags: ["Alerts"],
  operationId: "updateAlertRule",
  summary: "Change an alert rule",
  description: "A new webhook URL issues a new `signingSecret`, returned this once. A new condition resets the rule to `ok`.",
  request: { params: uuidParam("alertRuleId"), body: jsonBody(updateAlertRuleSchema) },
  responses: { 200: jsonResponse(createdAlertRuleSchema, "The updated rule") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, updateAlertRule, { ...c.req.valid("json"), ...c.req.valid("param") }), 200);
