import type { RouteHandler } from "@hono/zod-openapi";
import { updateTool } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { toolSchema, updateToolSchema } from "./schemas";

export const route = adminRoute("tools:write", {
  method: "patch",
  path: "/{toolId}",
  tags: ["Tools"],
  operationId: "updateTool",
  summary: "Change a tool",
  description: "`auth`, when given, replaces the whole auth configuration, secrets included.",
  request: { params: uuidParam("toolId"), body: jsonBody(updateToolSchema) },
  responses: { 200: jsonResponse(toolSchema, "The updated tool") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, updateTool, { ...c.req.valid("json"), ...c.req.valid("param") }), 200);
