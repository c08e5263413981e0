import type { RouteHandler } from "@hono/zod-openapi";
import { createTool } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { createToolSchema, toolSchema } from "./schemas";

export const route = adminRoute("tools:write", {
  method: "post",
  path: "/",
  tags: ["Tools"],
  operationId: "createTool",
  summary: "Create an HTTP tool",
  description:
    "The URL must be public http(s) on port 80 or 443 (private, loopback, link-local and reserved addresses are refused, in every numeric form); placeholders `{name}` only in the path. Secrets in `auth` are encrypted at rest and never returned. 422 `INVALID_TOOL` names what is wrong.",
  request: { body: jsonBody(createToolSchema) },
  responses: { 201: jsonResponse(toolSchema, "The new tool") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, createTool, c.req.valid("json")), 201);
