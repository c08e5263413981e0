import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as create from "./create";
import * as remove from "./delete";
import * as list from "./list";

/** `/v1/invitations` (module `users`). */
export const invitationsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(list.route, list.handler)
  .openapi(create.route, create.handler)
  .openapi(remove.route, remove.handler);
