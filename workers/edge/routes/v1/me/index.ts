import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as get from "./get";

/** `/v1/me`: any authenticated caller. */
export const meApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(get.route, get.handler);
