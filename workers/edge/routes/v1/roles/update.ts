import type { RouteHandler } from "@hono/zod-openapi";
import { updateRole } from "../../../../../core/access/roles";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { roleSchema, updateRoleSchema } from "./schemas";

export const route = adminRoute("users:write", {
  method: "patch",
  path: "/{roleId}",
  tags: ["Roles"],
  operationId: "updateRole",
  summary: "Rename a custom role or change its permissions",
  request: { params: uuidParam("roleId"), body: jsonBody(updateRoleSchema) },
  responses: { 200: jsonResponse(roleSchema, "The updated role") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, updateRole, { ...c.req.valid("json"), ...c.req.valid("param") }), 200);
