import type { RouteHandler } from "@hono/zod-openapi";
import { updateTenantConfig, updateTenantConfigInput } from "../../../../../core/tenants/config";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { tenantConfigSchema } from "./get";

export const route = adminRoute("settings:write", {
  method: "patch",
  path: "/",
  tags: ["Tenant"],
  operationId: "updateTenant",
  summary: "Change the master configuration",
  description:
    "Name, locale, timezone, default model policy, budget and the origins allowed by CORS (e.g. `https://yourapp.bubbleapps.io`). Fields left out keep their value.",
  request: { body: jsonBody(updateTenantConfigInput.openapi("UpdateTenantConfig")) },
  responses: { 200: jsonResponse(tenantConfigSchema, "The updated configuration") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, updateTenantConfig, c.req.valid("json")), 200);
