import type { RouteHandler } from "@hono/zod-openapi";
import { deleteAgent } from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { adminRoute } from "../openapi";
import { runVerb } from "../run";
import { agentIdParam } from "./schemas";

export const route = adminRoute("agents:delete", {
  method: "delete",
  path: "/{agentId}",
  tags: ["Agents"],
  operationId: "deleteAgent",
  summary: "Delete an agent",
  description: "Refused with 409 while a channel still routes to the agent. History (versions, conversations, usage) is kept.",
  request: { params: agentIdParam },
  responses: { 204: { description: "Deleted" } },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  await runVerb(c, deleteAgent, c.req.valid("param"));
  return c.body(null, 204);
};
