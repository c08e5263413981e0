import type { RouteHandler } from "@hono/zod-openapi";
import { deleteAlertRule } from "../../../../../core/alerts/rules";
import type { AppEnv } from "../../../context";
import { adminRoute, uuidParam } from "../openapi";
import { runVerb } from "../run";

export const route = adminRoute("analytics:delete", {
  method: "delete",
  path: "/{alertRuleId}",
  tags: ["Alerts"],
  operationId: "deleteAlertRule",
  summary: "Delete an alert rule",
  description: "Alerts it raised stay in the history.",
  request: { params: uuidParam("alertRuleId") },
  responses: { 204: { description: "Deleted" } },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  await runVerb(c, deleteAlertRule, c.req.valid("param"));
  return c.body(null, 204);
};
