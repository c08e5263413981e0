import type { RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import { listAlertRules } from "../../../../../core/alerts/rules";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { alertRuleSchema } from "./schemas";

export const route = adminRoute("analytics:read", {
  method: "get",
  path: "/",
  tags: ["Alerts"],
  operationId: "listAlertRules",
  summary: "List alert rules",
  description: "The tenant's alert rules, newest first, with their state (`ok` or `firing`).",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(alertRuleSchema, "AlertRulePage"), "A page of alert rules") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, listAlertRules, c.req.valid("query")), 200);
