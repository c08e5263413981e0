import type { RouteHandler } from "@hono/zod-openapi";
import { createRole } from "../../../../../core/access/roles";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { createRoleSchema, roleSchema } from "./schemas";

export const route = adminRoute("users:write", {
  method: "post",
  path: "/",
  tags: ["Roles"],
  operationId: "createRole",
  summary: "Create a custom role",
  description: "Permissions are `<module>:<action>`. You can only grant permissions you hold yourself.",
  request: { body: jsonBody(createRoleSchema) },
  responses: { 201: jsonResponse(roleSchema, "The new role") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, createRole, c.req.valid("json")), 201);
