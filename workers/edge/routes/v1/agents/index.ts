import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as create from "./create";
import * as remove from "./delete";
import * as get from "./get";
import * as list from "./list";
import * as publish from "./publish";
import * as testRuns from "./test-runs";
import * as rollback from "./rollback";
import * as update from "./update";
import * as versions from "./versions";

/** `/v1/agents`: agents, their versions, publishing, diffs and rollback (module `agents`). */
export const agentsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(list.route, list.handler)
  .openapi(create.route, create.handler)
  .openapi(get.route, get.handler)
  .openapi(update.route, update.handler)
  .openapi(remove.route, remove.handler)
  .openapi(versions.route, versions.handler)
  .openapi(rollback.route, rollback.handler)
  .openapi(publish.route, publish.handler)
  .openapi(publish.diffRoute, publish.diffHandler)
  .openapi(testRuns.createRoute, testRuns.createHandler)
  .openapi(testRuns.listRoute, testRuns.listHandler)
  .openapi(testRuns.getRoute, testRuns.getHandler)
  .openapi(testRuns.compareRoute, testRuns.compareHandler);
