import { z, type RouteHandler } from "@hono/zod-openapi";
import { updateAgent } from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { agentIdParam, agentSchema, toAgentDto, updateAgentSchema } from "./schemas";

const versionQuery = z.object({
  expectedVersion: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .openapi({ description: "Refuse with 409 unless the agent is still at this version (no silent overwrite between two editors)" }),
});

export const route = adminRoute("agents:write", {
  method: "patch",
  path: "/{agentId}",
  tags: ["Agents"],
  operationId: "updateAgent",
  summary: "Change an agent (a new version)",
  request: { params: agentIdParam, query: versionQuery, body: jsonBody(updateAgentSchema) },
  responses: { 200: jsonResponse(agentSchema, "The agent at its new version") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const { expectedVersion } = c.req.valid("query");
  const input = { ...c.req.valid("param"), changes: c.req.valid("json"), ...(expectedVersion ? { expectedVersion } : {}) };
  return c.json(toAgentDto(await runVerb(c, updateAgent, input)), 200);
};
