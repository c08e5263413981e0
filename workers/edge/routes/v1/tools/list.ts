import type { RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import { listTools } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { toolSchema } from "./schemas";

export const route = adminRoute("tools:read", {
  method: "get",
  path: "/",
  tags: ["Tools"],
  operationId: "listTools",
  summary: "List tools",
  description: "The tenant's HTTP tools, newest first. Secrets in `auth` show as `********`.",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(toolSchema, "ToolPage"), "A page of tools") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, listTools, c.req.valid("query")), 200);
