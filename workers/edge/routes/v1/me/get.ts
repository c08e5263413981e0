import type { RouteHandler } from "@hono/zod-openapi";
import { meDto } from "../../../../../core/access/schemas";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";

export const route = adminRoute(null, {
  method: "get",
  path: "/",
  tags: ["Me"],
  operationId: "getMe",
  summary: "Who is calling",
  description: "The caller's tenant, identity, role and permissions: a front end shows or hides controls from this.",
  responses: { 200: jsonResponse(meDto.openapi("Me"), "The caller") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const principal = c.get("principal")!;
  return c.json(
    {
      tenantId: principal.tenantId,
      actor: { type: principal.actor.type, id: principal.actor.id },
      role: principal.role,
      permissions: [...principal.permissions],
    },
    200,
  );
};
