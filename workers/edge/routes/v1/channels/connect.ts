import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { adminRoute, errorBody, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { channelSchema, connectChannelSchema } from "./schemas";
import { connectChannel } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:write", {
  method: "post",
  path: "/",
  tags: ["Channels"],
  operationId: "createChannel",
  summary: "Connect a channel",
  description:
    "Telegram: the bot token is checked (`getMe`) and the bot's webhook is set to this channel with its secret token. " +
    "WhatsApp: the phone number is checked with the access token; enter `webhookUrl` and `verifyToken` in the Meta app. " +
    "Web chat: put `embedSnippet` on a page of an allowed origin. Credentials are encrypted and never returned.",
  request: { body: jsonBody(connectChannelSchema) },
  responses: {
    201: jsonResponse(channelSchema, "The new channel"),
    422: jsonResponse(errorBody, "The provider refused the credentials (`INVALID_REQUEST`, reason `CHANNEL_PROVIDER_REFUSED`)"),
    503: jsonResponse(errorBody, "The edge cannot store credentials (`CHANNELS_UNAVAILABLE`)"),
  },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, connectChannel, c.req.valid("json")), 201);
