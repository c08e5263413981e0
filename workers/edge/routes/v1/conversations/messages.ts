import type { RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import { conversationMessageDto, listConversationMessages } from "../../../../../core/knowledge/citations";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf, uuidParam } from "../openapi";
import { runVerb } from "../run";

export const route = adminRoute("agents:read", {
  method: "get",
  path: "/{conversationId}/messages",
  tags: ["Conversations"],
  operationId: "listConversationMessages",
  summary: "List a conversation's messages, with the citations of each reply",
  description:
    "Newest first. A reply's `retrieved` are the knowledge chunks its turn put in the prompt, numbered as `[n]` there; its `citations` are those the reply cites.",
  request: { params: uuidParam("conversationId"), query: pageQuery },
  responses: {
    200: jsonResponse(pageOf(conversationMessageDto.openapi("ConversationMessage"), "ConversationMessagePage"), "A page of messages"),
  },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, listConversationMessages, { ...c.req.valid("query"), ...c.req.valid("param") }), 200);
