import type { RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { channelSchema } from "./schemas";
import { listChannels } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:read", {
  method: "get",
  path: "/",
  tags: ["Channels"],
  operationId: "listChannels",
  summary: "List channels",
  description: "Newest first. Credentials are never returned; `hasCredentials` says whether some are stored.",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(channelSchema, "ChannelPage"), "A page of channels") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, listChannels, c.req.valid("query")), 200);
