import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as list from "./list";

/** `/v1/audit-log`: read-only; records are written by the verbs themselves. */
export const auditLogApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(list.route, list.handler);
