import type { RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import { listUsers } from "../../../../../core/access/users";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { userSchema } from "./schemas";

export const route = adminRoute("users:read", {
  method: "get",
  path: "/",
  tags: ["Users"],
  operationId: "listUsers",
  summary: "List the tenant's users",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(userSchema, "UserPage"), "A page of users") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, listUsers, c.req.valid("query")), 200);
