import type { RouteHandler } from "@hono/zod-openapi";
import { deleteRole } from "../../../../../core/access/roles";
import type { AppEnv } from "../../../context";
import { adminRoute, uuidParam } from "../openapi";
import { runVerb } from "../run";

export const route = adminRoute("users:delete", {
  method: "delete",
  path: "/{roleId}",
  tags: ["Roles"],
  operationId: "deleteRole",
  summary: "Delete a custom role",
  description: "Refused with 409 while users, invitations or API keys still have the role.",
  request: { params: uuidParam("roleId") },
  responses: { 204: { description: "Deleted" } },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  await runVerb(c, deleteRole, c.req.valid("param"));
  return c.body(null, 204);
};
