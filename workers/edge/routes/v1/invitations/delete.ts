import type { RouteHandler } from "@hono/zod-openapi";
import { deleteInvitation } from "../../../../../core/access/invitations";
import type { AppEnv } from "../../../context";
import { adminRoute, uuidParam } from "../openapi";
import { runVerb } from "../run";

export const route = adminRoute("users:delete", {
  method: "delete",
  path: "/{invitationId}",
  tags: ["Invitations"],
  operationId: "deleteInvitation",
  summary: "Withdraw an invitation",
  request: { params: uuidParam("invitationId") },
  responses: { 204: { description: "Withdrawn" } },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  await runVerb(c, deleteInvitation, c.req.valid("param"));
  return c.body(null, 204);
};
