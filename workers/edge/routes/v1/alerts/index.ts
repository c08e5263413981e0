import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as create from "./create";
import * as remove from "./delete";
import * as get from "./get";
import * as list from "./list";
import * as update from "./update";

/** `/v1/alerts`: the tenant's alert rules (module `analytics`). */
export const alertsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(list.route, list.handler)
  .openapi(create.route, create.handler)
  .openapi(get.route, get.handler)
  .openapi(update.route, update.handler)
  .openapi(remove.route, remove.handler);
