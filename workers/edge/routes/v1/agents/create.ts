import type { RouteHandler } from "@hono/zod-openapi";
import { createAgent } from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { agentSchema, createAgentSchema, toAgentDto } from "./schemas";

export const route = adminRoute("agents:write", {
  method: "post",
  path: "/",
  tags: ["Agents"],
  operationId: "createAgent",
  summary: "Create an agent (version 1)",
  description: "Only `name` and `systemPrompt` are required. `channelIds` moves those channels to this agent.",
  request: { body: jsonBody(createAgentSchema) },
  responses: { 201: jsonResponse(agentSchema, "The new agent") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(toAgentDto(await runVerb(c, createAgent, c.req.valid("json"))), 201);
