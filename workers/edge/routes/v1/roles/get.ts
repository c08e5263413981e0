import type { RouteHandler } from "@hono/zod-openapi";
import { getRole } from "../../../../../core/access/roles";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { roleSchema } from "./schemas";

export const route = adminRoute("users:read", {
  method: "get",
  path: "/{roleId}",
  tags: ["Roles"],
  operationId: "getRole",
  summary: "Get a role",
  request: { params: uuidParam("roleId") },
  responses: { 200: jsonResponse(roleSchema, "The role") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, getRole, c.req.valid("param")), 200);
