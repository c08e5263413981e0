import type { RouteHandler } from "@hono/zod-openapi";
import { getTool } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { toolSchema } from "./schemas";

export const route = adminRoute("tools:read", {
  method: "get",
  path: "/{toolId}",
  tags: ["Tools"],
  operationId: "getTool",
  summary: "Get a tool",
  request: { params: uuidParam("toolId") },
  responses: { 200: jsonResponse(toolSchema, "The tool") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, getTool, c.req.valid("param")), 200);
