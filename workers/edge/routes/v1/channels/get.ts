import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { channelSchema } from "./schemas";
import { getChannel } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:read", {
  method: "get",
  path: "/{channelId}",
  tags: ["Channels"],
  operationId: "getChannel",
  summary: "Get a channel",
  request: { params: uuidParam("channelId") },
  responses: { 200: jsonResponse(channelSchema, "The channel") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, getChannel, c.req.valid("param")), 200);
