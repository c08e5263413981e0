import { z, type RouteHandler } from "@hono/zod-openapi";
import { listAgentVersions } from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { agentIdParam, agentVersionSchema, toAgentVersionDto } from "./schemas";

export const route = adminRoute("agents:read", {
  method: "get",
  path: "/{agentId}/versions",
  tags: ["Agents"],
  operationId: "listAgentVersions",
  summary: "List an agent's versions, newest first",
  request: { params: agentIdParam },
  responses: { 200: jsonResponse(z.object({ data: z.array(agentVersionSchema) }).openapi("AgentVersionList"), "Every version") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const versions = await runVerb(c, listAgentVersions, c.req.valid("param"));
  return c.json({ data: versions.map(toAgentVersionDto) }, 200);
};
