import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { channelSchema } from "./schemas";
import { pauseChannel } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:write", {
  method: "post",
  path: "/{channelId}/pause",
  tags: ["Channels"],
  operationId: "pauseChannel",
  summary: "Pause a channel: messages are still received and stored, but not answered",
  request: { params: uuidParam("channelId") },
  responses: { 200: jsonResponse(channelSchema, "The channel") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, pauseChannel, c.req.valid("param")), 200);
