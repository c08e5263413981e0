import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { channelTestSchema } from "./schemas";
import { testChannel } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:write", {
  method: "post",
  path: "/{channelId}/test",
  tags: ["Channels"],
  operationId: "testChannel",
  summary: "Test a channel's connection",
  description:
    "Telegram: the token and the registered webhook. WhatsApp: the phone number with the access token. Web chat: allowed origins.",
  request: { params: uuidParam("channelId") },
  responses: { 200: jsonResponse(channelTestSchema, "What was checked") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, testChannel, c.req.valid("param")), 200);
