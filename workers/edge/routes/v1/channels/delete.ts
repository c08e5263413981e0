import type { RouteHandler } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { removeChannel } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:delete", {
  method: "delete",
  path: "/{channelId}",
  tags: ["Channels"],
  operationId: "deleteChannel",
  summary: "Remove a channel",
  description:
    "Telegram: the bot's webhook is deleted first (best effort: `webhookRemoved` says whether it was). The channel's conversations go with it.",
  request: { params: uuidParam("channelId") },
  responses: { 200: jsonResponse(z.object({ webhookRemoved: z.boolean().nullable() }).openapi("ChannelRemoved"), "Removed") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, removeChannel, c.req.valid("param")), 200);
