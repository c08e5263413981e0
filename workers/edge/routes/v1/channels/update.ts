import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { channelSchema, updateChannelSchema } from "./schemas";
import { updateChannel } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:write", {
  method: "patch",
  path: "/{channelId}",
  tags: ["Channels"],
  operationId: "updateChannel",
  summary: "Rename a channel, move it to another agent, change its settings or replace its credentials",
  description: "A new Telegram bot token is checked and the webhook registered again.",
  request: { params: uuidParam("channelId"), body: jsonBody(updateChannelSchema) },
  responses: { 200: jsonResponse(channelSchema, "The updated channel") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, updateChannel, { ...c.req.valid("json"), ...c.req.valid("param") }), 200);
