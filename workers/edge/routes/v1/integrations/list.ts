import type { RouteHandler } from "@hono/zod-openapi";
import { listIntegrations } from "../../../../../core/integrations/connections";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { catalogueSchema } from "./schemas";

export const route = adminRoute("integrations:read", {
  method: "get",
  path: "/",
  tags: ["Integrations"],
  operationId: "listIntegrations",
  summary: "The integrations catalogue with this tenant's connections",
  description:
    "Each provider: what it does, the scopes OAuth asks for, the non-OAuth way to connect, the tools agents get, and this tenant's connection (or null).",
  responses: { 200: jsonResponse(catalogueSchema, "The catalogue") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json({ data: await runVerb(c, listIntegrations, undefined) }, 200);
