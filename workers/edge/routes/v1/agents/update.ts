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
  publish: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "`true`: publish the new version at once (channels answer with it); by default it stays a draft" }),
});

export const route = adminRoute("agents:write", {
  method: "patch",
  path: "/{agentId}",
  tags: ["Agents"],
  operationId: "updateAgent",
  summary: "Change an agent's draft (a new version)",
  description:
    "Channels keep answering with the published version until the draft is published (`POST /v1/agents/{agentId}/publish`, or `?publish=true` here).",
  request: { params: agentIdParam, query: versionQuery, body: jsonBody(updateAgentSchema) },
  responses: { 200: jsonResponse(agentSchema, "The agent at its new version") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const { expectedVersion, publish } = c.req.valid("query");
  const input = {
    ...c.req.valid("param"),
    changes: c.req.valid("json"),
    ...(expectedVersion ? { expectedVersion } : {}),
    publish: publish === "true",
  };
  return c.json(toAgentDto(await runVerb(c, updateAgent, input)), 200);
};
