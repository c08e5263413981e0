import type { RouteHandler } from "@hono/zod-openapi";
import { removeUser } from "../../../../../core/access/users";
import type { AppEnv } from "../../../context";
import { adminRoute, uuidParam } from "../openapi";
import { runVerb } from "../run";

export const route = adminRoute("users:delete", {
  method: "delete",
  path: "/{userId}",
  tags: ["Users"],
  operationId: "deleteUser",
  summary: "Remove a user from the tenant",
  description: "Their Auth0 tokens stop working here at once (401). The last admin cannot be removed.",
  request: { params: uuidParam("userId") },
  responses: { 204: { description: "Removed" } },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  await runVerb(c, removeUser, c.req.valid("param"));
  return c.body(null, 204);
};
