import type { RouteHandler } from "@hono/zod-openapi";
import { setToolEnabled } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { toolSchema } from "./schemas";

export const enableRoute = adminRoute("tools:write", {
  method: "post",
  path: "/{toolId}/enable",
  tags: ["Tools"],
  operationId: "enableTool",
  summary: "Enable a tool (agents that have it can call it again)",
  request: { params: uuidParam("toolId") },
  responses: { 200: jsonResponse(toolSchema, "The tool") },
});

export const disableRoute = adminRoute("tools:write", {
  method: "post",
  path: "/{toolId}/disable",
  tags: ["Tools"],
  operationId: "disableTool",
  summary: "Disable a tool (no agent calls it until it is enabled)",
  request: { params: uuidParam("toolId") },
  responses: { 200: jsonResponse(toolSchema, "The tool") },
});

export const enableHandler: RouteHandler<typeof enableRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, setToolEnabled, { ...c.req.valid("param"), enabled: true }), 200);
export const disableHandler: RouteHandler<typeof disableRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, setToolEnabled, { ...c.req.valid("param"), enabled: false }), 200);
