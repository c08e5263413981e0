import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as agents from "./agents";
import * as approvals from "./approvals";
import * as create from "./create";
import * as remove from "./delete";
import * as enable from "./enable";
import * as get from "./get";
import * as importer from "./import";
import * as list from "./list";
import * as test from "./test";
import * as update from "./update";

/** `/v1/tools`: tenant-defined HTTP tools, their approvals and which agents have them (module `tools`). */
export const toolsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(approvals.listRoute, approvals.listHandler)
  .openapi(approvals.approveRoute, approvals.approveHandler)
  .openapi(approvals.rejectRoute, approvals.rejectHandler)
  .openapi(importer.route, importer.handler)
  .openapi(list.route, list.handler)
  .openapi(create.route, create.handler)
  .openapi(get.route, get.handler)
  .openapi(update.route, update.handler)
  .openapi(remove.route, remove.handler)
  .openapi(enable.enableRoute, enable.enableHandler)
  .openapi(enable.disableRoute, enable.disableHandler)
  .openapi(test.route, test.handler)
  .openapi(agents.attachRoute, agents.attachHandler)
  .openapi(agents.detachRoute, agents.detachHandler);
