import type { RouteHandler } from "@hono/zod-openapi";
import { listInvitations } from "../../../../../core/access/invitations";
import { pageQuery } from "../../../../../core/access/schemas";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { invitationSchema } from "./schemas";

export const route = adminRoute("users:read", {
  method: "get",
  path: "/",
  tags: ["Invitations"],
  operationId: "listInvitations",
  summary: "List invitations",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(invitationSchema, "InvitationPage"), "A page of invitations") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, listInvitations, c.req.valid("query")), 200);
