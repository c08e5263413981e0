import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as connect from "./connect";
import * as remove from "./delete";
import * as get from "./get";
import * as list from "./list";
import * as pause from "./pause";
import * as resume from "./resume";
import * as test from "./test";
import * as templates from "./templates";
import * as update from "./update";

/** `/v1/channels`: Telegram, WhatsApp and web chat channels (module `channels`). */
export const channelsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(list.route, list.handler)
  .openapi(connect.route, connect.handler)
  .openapi(get.route, get.handler)
  .openapi(update.route, update.handler)
  .openapi(test.route, test.handler)
  .openapi(templates.route, templates.handler)
  .openapi(pause.route, pause.handler)
  .openapi(resume.route, resume.handler)
  .openapi(remove.route, remove.handler);
