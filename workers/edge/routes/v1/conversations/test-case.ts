import { z, type RouteHandler } from "@hono/zod-openapi";
import { conversationTestCase } from "../../../../../core/agents";
import { testCase } from "../../../../../core/agents/test-suite";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";

export const route = adminRoute("agents:read", {
  method: "get",
  path: "/{conversationId}/test-case",
  tags: ["Conversations"],
  operationId: "conversationTestCase",
  summary: "A test case written from this conversation",
  description:
    "Each message the person sent becomes a user turn, and the tools the agent called answering it become `toolCalled` " +
    "expectations; add text expectations and stubs, then put it in the agent's suite. `yaml` is the same case as a suite fragment.",
  request: { params: uuidParam("conversationId") },
  responses: {
    200: jsonResponse(
      z.object({ testCase: testCase.openapi("AgentTestCase"), yaml: z.string() }).openapi("ConversationTestCase"),
      "The case, as an object and as YAML",
    ),
  },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, conversationTestCase, c.req.valid("param")), 200);
