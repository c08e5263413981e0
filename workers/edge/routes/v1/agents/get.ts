import type { RouteHandler } from "@hono/zod-openapi";
import { getAgent } from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { agentIdParam, agentSchema, toAgentDto } from "./schemas";

export const route = adminRoute("agents:read", {
  method: "get",
  path: "/{agentId}",
  tags: ["Agents"],
  operationId: "getAgent",
  summary: "Get an agent's current configuration",
  request: { params: agentIdParam },
  responses: { 200: jsonResponse(agentSchema, "The agent") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(toAgentDto(await runVerb(c, getAgent, c.req.valid("param"))), 200);
