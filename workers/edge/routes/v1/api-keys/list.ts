import type { RouteHandler } from "@hono/zod-openapi";
import { listApiKeys } from "../../../../../core/access/api-keys";
import { pageQuery } from "../../../../../core/access/schemas";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { apiKeySchema } from "./schemas";

export const route = adminRoute("users:read", {
  method: "get",
  path: "/",
  tags: ["API keys"],
  operationId: "listApiKeys",
  summary: "List API keys",
  description: "Revoked keys included. The keys themselves are never shown again.",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(apiKeySchema, "ApiKeyPage"), "A page of API keys") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, listApiKeys, c.req.valid("query")), 200);
