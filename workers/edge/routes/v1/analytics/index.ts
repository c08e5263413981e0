import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as budget from "./budget";
import * as models from "./models";
import * as summary from "./summary";
import * as timeseries from "./timeseries";
import * as tools from "./tools";

/** `/v1/analytics`: the tenant's dashboard figures, from the hourly rollups (module `analytics`). */
export const analyticsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(summary.route, summary.handler)
  .openapi(timeseries.route, timeseries.handler)
  .openapi(models.route, models.handler)
  .openapi(tools.route, tools.handler)
  .openapi(budget.route, budget.handler);
