import type { RouteHandler } from "@hono/zod-openapi";
import { updateUser } from "../../../../../core/access/users";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { updateUserSchema, userSchema } from "./schemas";

export const route = adminRoute("users:write", {
  method: "patch",
  path: "/{userId}",
  tags: ["Users"],
  operationId: "updateUser",
  summary: "Change a user's role",
  description: "You can only give (or take away) a role whose permissions you hold. The last admin cannot be demoted.",
  request: { params: uuidParam("userId"), body: jsonBody(updateUserSchema) },
  responses: { 200: jsonResponse(userSchema, "The updated user") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, updateUser, { ...c.req.valid("json"), ...c.req.valid("param") }), 200);
