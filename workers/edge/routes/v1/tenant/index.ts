import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as deletion from "./deletion";
import * as get from "./get";
import * as providerKeys from "./provider-keys";
import * as update from "./update";

/** `/v1/tenant`: the caller's own tenant (module `settings`); there is no way to name another. */
export const tenantApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(get.route, get.handler)
  .openapi(update.route, update.handler)
  .openapi(providerKeys.getRoute, providerKeys.getHandler)
  .openapi(providerKeys.putRoute, providerKeys.putHandler)
  .openapi(providerKeys.deleteRoute, providerKeys.deleteHandler)
  .openapi(deletion.deleteRoute, deletion.deleteHandler)
  .openapi(deletion.restoreRoute, deletion.restoreHandler);
