import type { RouteHandler } from "@hono/zod-openapi";
import { createInvitation } from "../../../../../core/access/invitations";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { createInvitationSchema, invitationSchema } from "./schemas";

export const route = adminRoute("users:write", {
  method: "post",
  path: "/",
  tags: ["Invitations"],
  operationId: "createInvitation",
  summary: "Invite someone by email",
  description:
    "They join with the role on their first sign-in through the tenant's Auth0 Organization, once Auth0 has verified that email.",
  request: { body: jsonBody(createInvitationSchema) },
  responses: { 201: jsonResponse(invitationSchema, "The invitation") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, createInvitation, c.req.valid("json")), 201);
