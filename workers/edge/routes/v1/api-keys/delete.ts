import type { RouteHandler } from "@hono/zod-openapi";
import { revokeApiKey } from "../../../../../core/access/api-keys";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { apiKeySchema } from "./schemas";

export const route = adminRoute("users:delete", {
  method: "delete",
  path: "/{apiKeyId}",
  tags: ["API keys"],
  operationId: "deleteApiKey",
  summary: "Revoke an API key",
  description: "Immediate and final; the key stays listed as revoked.",
  request: { params: uuidParam("apiKeyId") },
  responses: { 200: jsonResponse(apiKeySchema, "The revoked key") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, revokeApiKey, c.req.valid("param")), 200);
