import type { RouteHandler } from "@hono/zod-openapi";
import { getTenantConfig, tenantConfigDto } from "../../../../../core/tenants/config";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";

export const tenantConfigSchema = tenantConfigDto.openapi("TenantConfig");

export const route = adminRoute("settings:read", {
  method: "get",
  path: "/",
  tags: ["Tenant"],
  operationId: "getTenant",
  summary: "The tenant's master configuration",
  responses: { 200: jsonResponse(tenantConfigSchema, "The configuration") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, getTenantConfig, undefined), 200);
