import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { channelTemplatesSchema } from "./schemas";
import { listChannelTemplates } from "../../../../../core/channels/manage";

export const route = adminRoute("channels:read", {
  method: "get",
  path: "/{channelId}/templates",
  tags: ["Channels"],
  operationId: "listChannelTemplates",
  summary: "List a channel's message templates",
  description:
    "WhatsApp: the Business Account's templates (needs `settings.businessAccountId`), read live from Meta, with the variables each takes: the header's kind, how many body variables, which buttons take one. `template` in the channel's settings names one and gives its values. Other kinds: 400 `TEMPLATES_UNSUPPORTED`.",
  request: { params: uuidParam("channelId") },
  responses: { 200: jsonResponse(channelTemplatesSchema, "The templates") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
  c.json(await runVerb(c, listChannelTemplates, c.req.valid("param")), 200);
