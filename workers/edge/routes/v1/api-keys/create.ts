import type { RouteHandler } from "@hono/zod-openapi";
import { createApiKey } from "../../../../../core/access/api-keys";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { createApiKeySchema, createdApiKeySchema } from "./schemas";

export const route = adminRoute("users:write", {
  method: "post",
  path: "/",
  tags: ["API keys"],
  operationId: "createApiKey",
  summary: "Create an API key",
  description: "For server-to-server calls (a Bubble.io backend workflow, scripts). `key` is in this answer only.",
  request: { body: jsonBody(createApiKeySchema) },
  responses: { 201: jsonResponse(createdApiKeySchema, "The key, shown once") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const created = await runVerb(c, createApiKey, c.req.valid("json"));
  c.header("cache-control", "no-store");
  return c.json(created, 201);
};
