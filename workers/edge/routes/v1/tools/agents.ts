import { z, type RouteHandler } from "@hono/zod-openapi";
import { attachTool } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";

const params = z.object({
  toolId: z.uuid().openapi({ param: { name: "toolId", in: "path" } }),
  agentId: z.uuid().openapi({ param: { name: "agentId", in: "path" } }),
});
const agentAnswer = z
  .object({ id: z.uuid(), version: z.number(), toolIds: z.array(z.uuid()) })
  .passthrough()
  .openapi("AgentWithTools");

export const attachRoute = adminRoute("tools:write", {
  method: "put",
  path: "/{toolId}/agents/{agentId}",
  tags: ["Tools"],
  operationId: "addAgentTool",
  summary: "Give an agent this tool",
  description:
    "Adds the tool to the agent's `toolIds`: a new draft version of the agent, live once published (also needs `agents:write`). Idempotent.",
  request: { params },
  responses: { 200: jsonResponse(agentAnswer, "The agent") },
});

export const detachRoute = adminRoute("tools:write", {
  method: "delete",
  path: "/{toolId}/agents/{agentId}",
  tags: ["Tools"],
  operationId: "removeAgentTool",
  summary: "Take this tool away from an agent",
  description:
    "Removes the tool from the agent's `toolIds`: a new draft version of the agent, live once published (also needs `agents:write`). Idempotent.",
  request: { params },
  responses: { 200: jsonResponse(agentAnswer, "The agent") },
});

export const attachHandler: RouteHandler<typeof attachRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, attachTool, { ...c.req.valid("param"), attached: true }), 200);
export const detachHandler: RouteHandler<typeof detachRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, attachTool, { ...c.req.valid("param"), attached: false }), 200);
