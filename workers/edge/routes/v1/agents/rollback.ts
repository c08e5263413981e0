import { z, type RouteHandler } from "@hono/zod-openapi";
import { rollbackAgent } from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { agentIdParam, agentSchema, toAgentDto } from "./schemas";

const rollbackBody = z
  .object({ version: z.number().int().min(1) })
  .strict()
  .openapi("RollbackAgent");

export const route = adminRoute("agents:write", {
  method: "post",
  path: "/{agentId}/rollback",
  tags: ["Agents"],
  operationId: "rollbackAgent",
  summary: "Restore an earlier version's configuration as a new, published version",
  description: "Live customers get the earlier behaviour at once. History is never rewritten; channel routing stays as it is now.",
  request: { params: agentIdParam, body: jsonBody(rollbackBody) },
  responses: { 200: jsonResponse(agentSchema, "The agent at its new version") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(toAgentDto(await runVerb(c, rollbackAgent, { ...c.req.valid("param"), ...c.req.valid("json") })), 200);
