import type { RouteHandler } from "@hono/zod-openapi";
import { listAgents } from "../../../../../core/agents";
import { pageQuery } from "../../../../../core/access/schemas";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { agentSchema, toAgentDto } from "./schemas";

export const route = adminRoute("agents:read", {
  method: "get",
  path: "/",
  tags: ["Agents"],
  operationId: "listAgents",
  summary: "List agents",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(agentSchema, "AgentPage"), "A page of agents") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const page = await runVerb(c, listAgents, c.req.valid("query"));
  return c.json({ data: page.agents.map(toAgentDto), nextCursor: page.nextCursor ?? null }, 200);
};
