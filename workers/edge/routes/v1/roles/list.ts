import type { RouteHandler } from "@hono/zod-openapi";
import { listRoles } from "../../../../../core/access/roles";
import { pageQuery } from "../../../../../core/access/schemas";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { roleSchema } from "./schemas";

export const route = adminRoute("users:read", {
  method: "get",
  path: "/",
  tags: ["Roles"],
  operationId: "listRoles",
  summary: "List roles",
  description: "Built-in (admin, editor, viewer) and custom roles, newest first.",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(roleSchema, "RolePage"), "A page of roles") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, listRoles, c.req.valid("query")), 200);
