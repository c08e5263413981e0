import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as remove from "./delete";
import * as get from "./get";
import * as list from "./list";
import * as update from "./update";

/** `/v1/users`: the tenant's members (module `users`). People join through invitations. */
export const usersApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(list.route, list.handler)
  .openapi(get.route, get.handler)
  .openapi(update.route, update.handler)
  .openapi(remove.route, remove.handler);
