import type { RouteHandler } from "@hono/zod-openapi";
import { getUser } from "../../../../../core/access/users";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { userSchema } from "./schemas";

export const route = adminRoute("users:read", {
  method: "get",
  path: "/{userId}",
  tags: ["Users"],
  operationId: "getUser",
  summary: "Get a user",
  request: { params: uuidParam("userId") },
  responses: { 200: jsonResponse(userSchema, "The user") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, getUser, c.req.valid("param")), 200);
