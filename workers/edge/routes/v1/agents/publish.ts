import { z, type RouteHandler } from "@hono/zod-openapi";
import { diffAgentVersions, publishAgent } from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { agentIdParam, agentSchema, toAgentDto } from "./schemas";

const publishBody = z
  .object({
    version: z.number().int().min(1).optional().openapi({ description: "The version to publish; default: the draft" }),
    expectedVersion: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: "Refuse with 409 unless the draft is still at this version (publish what was reviewed)" }),
  })
  .strict()
  .openapi("PublishAgent");

export const route = adminRoute("agents:write", {
  method: "post",
  path: "/{agentId}/publish",
  tags: ["Agents"],
  operationId: "publishAgent",
  summary: "Publish the draft (or another version): channels answer with it from the next message",
  description:
    "Recorded on the version (`publishedAt`, `publishedBy`) and in the audit log. Publishing the published version changes nothing.",
  request: { params: agentIdParam, body: jsonBody(publishBody) },
  responses: { 200: jsonResponse(agentSchema, "The agent, with its new published version") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(toAgentDto(await runVerb(c, publishAgent, { ...c.req.valid("param"), ...c.req.valid("json") })), 200);

const versionRef = z
  .union([z.enum(["draft", "published"]), z.coerce.number().int().min(1)])
  .openapi({ description: "A version number, `draft` or `published`" });

export const diffRoute = adminRoute("agents:read", {
  method: "get",
  path: "/{agentId}/diff",
  tags: ["Agents"],
  operationId: "diffAgentVersions",
  summary: "What changed between two versions (default: from the published version to the draft)",
  request: { params: agentIdParam, query: z.object({ from: versionRef.default("published"), to: versionRef.default("draft") }) },
  responses: {
    200: jsonResponse(
      z
        .object({
          from: z.number().int(),
          to: z.number().int(),
          changes: z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown() })),
        })
        .openapi("AgentDiff"),
      "The fields that differ, with their value in each version",
    ),
  },
});

export const diffHandler: RouteHandler<typeof diffRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, diffAgentVersions, { ...c.req.valid("param"), ...c.req.valid("query") }), 200);
