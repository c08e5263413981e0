import type { RouteHandler } from "@hono/zod-openapi";
import { createAlertRule } from "../../../../../core/alerts/rules";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { createAlertRuleSchema, createdAlertRuleSchema, WEBHOOK_DOC } from "./schemas";

export const route = adminRoute("analytics:write", {
  method: "post",
  path: "/",
  tags: ["Alerts"],
  operationId: "createAlertRule",
  summary: "Create an alert rule",
  description: `Conditions: \`cost_over\` (spend in the window above \`thresholdUsd\`), \`error_rate\` (failed turns and sends over turns above \`threshold\`, once \`minTurns\` ran), \`no_traffic\` (no inbound message in the window). Rules are evaluated about once a minute; a rule notifies when it starts firing. Delivery by email or webhook; a webhook rule's \`signingSecret\` is returned this once.\n\n${WEBHOOK_DOC}`,
  request: { body: jsonBody(createAlertRuleSchema) },
  responses: { 201: jsonResponse(createdAlertRuleSchema, "The new rule (with `signingSecret` for webhooks, shown once)") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, createAlertRule, c.req.valid("json")), 201);
