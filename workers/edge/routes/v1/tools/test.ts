import type { RouteHandler } from "@hono/zod-openapi";
import { getTool } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { callToolRunner, testToolSchema, toolTestSchema } from "./schemas";

export const route = adminRoute("tools:write", {
  method: "post",
  path: "/{toolId}/test",
  tags: ["Tools"],
  operationId: "testTool",
  summary: "Run a tool with these arguments and show the request and the response",
  description:
    "Runs in the worker pool (where DNS is resolved and every address checked before connecting), exactly as a turn would: arguments validated first, then the SSRF-safe client. The request is shown with secrets masked. A disabled tool can be tested.",
  request: { params: uuidParam("toolId"), body: jsonBody(testToolSchema) },
  responses: { 200: jsonResponse(toolTestSchema, "What was sent and received; `ok: false` with `outcome` when the call failed") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const { toolId } = c.req.valid("param");
  // The permission check and the tenant-scoped lookup (another tenant's id answers 404) happen here.
  await runVerb(c, getTool, { toolId });
  const result = await callToolRunner(c, "/tools/test", {
    tenantId: c.get("principal")!.tenantId,
    toolId,
    arguments: c.req.valid("json").arguments,
  });
  return c.json(toolTestSchema.parse(result), 200);
};
