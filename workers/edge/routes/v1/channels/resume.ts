import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { channelSchema } from "./schemas";
import { resumeChannel } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:write", {
  method: "post",
  path: "/{channelId}/resume",
  tags: ["Channels"],
  operationId: "resumeChannel",
  summary: "Resume a paused channel",
  request: { params: uuidParam("channelId") },
  responses: { 200: jsonResponse(channelSchema, "The channel") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, resumeChannel, c.req.valid("param")), 200);
