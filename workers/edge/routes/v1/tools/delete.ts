import type { RouteHandler } from "@hono/zod-openapi";
import { deleteTool } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { adminRoute, uuidParam } from "../openapi";
import { runVerb } from "../run";

export const route = adminRoute("tools:delete", {
  method: "delete",
  path: "/{toolId}",
  tags: ["Tools"],
  operationId: "deleteTool",
  summary: "Delete a tool",
  description: "Refused with 409 (`TOOL_IN_USE`) while an agent uses it; detach it first.",
  request: { params: uuidParam("toolId") },
  responses: { 204: { description: "Deleted" } },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  await runVerb(c, deleteTool, c.req.valid("param"));
  return c.body(null, 204);
};
