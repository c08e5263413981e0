import { z, type RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import { conversationSummaryDto, listConversations } from "../../../../../core/agents/inbox";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";

const query = pageQuery.extend({
  status: z
    .enum(["open", "handed_off", "closed"])
    .optional()
    .openapi({ description: "`handed_off`: the conversations waiting for a person" }),
  channelId: z.uuid().optional(),
});

export const route = adminRoute("agents:read", {
  method: "get",
  path: "/",
  tags: ["Conversations"],
  operationId: "listConversations",
  summary: "List conversations, most recently active first",
  description: "An inbox: each conversation with its channel and a preview of its newest message. Filter by `status` and `channelId`.",
  request: { query },
  responses: {
    200: jsonResponse(pageOf(conversationSummaryDto.openapi("ConversationSummary"), "ConversationSummaryPage"), "A page of conversations"),
  },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, listConversations, c.req.valid("query")), 200);
