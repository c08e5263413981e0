import { z, type RouteHandler } from "@hono/zod-openapi";
import { setAgentIntegrationTools } from "../../../../../core/integrations/connections";
import type { AppEnv } from "../../../context";
import { toAgentDto, agentSchema } from "../agents/schemas";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { agentToolsBody } from "./schemas";

const params = z.object({
  provider: z
    .string()
    .max(40)
    .openapi({ param: { name: "provider", in: "path" }, example: "hubspot" }),
  agentId: z.uuid().openapi({ param: { name: "agentId", in: "path" } }),
});

export const route = adminRoute("integrations:write", {
  method: "put",
  path: "/{provider}/agents/{agentId}",
  tags: ["Integrations"],
  operationId: "setAgentIntegrationTools",
  summary: "Choose which of an integration's tools an agent uses",
  description:
    'Replaces the agent\'s tools of this provider (a new draft version of the agent, live once published; also needs `agents:write`). A tool answers the model "not connected" until the provider is connected.',
  request: { params, body: jsonBody(agentToolsBody) },
  responses: { 200: jsonResponse(agentSchema, "The agent") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(toAgentDto(await runVerb(c, setAgentIntegrationTools, { ...c.req.valid("param"), tools: c.req.valid("json").tools })), 200);
