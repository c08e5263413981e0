import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as bases from "./bases";
import * as sources from "./sources";

/** `/v1/knowledge-bases`: knowledge bases and their sources (module `knowledge`). */
export const knowledgeBasesApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(bases.list, bases.listHandler)
  .openapi(bases.create, bases.createHandler)
  .openapi(bases.get, bases.getHandler)
  .openapi(bases.update, bases.updateHandler)
  .openapi(bases.remove, bases.removeHandler)
  .openapi(bases.query, bases.queryHandler)
  .openapi(sources.list, sources.listHandler)
  .openapi(sources.create, sources.createHandler)
  .openapi(sources.get, sources.getHandler)
  .openapi(sources.resync, sources.resyncHandler)
  .openapi(sources.remove, sources.removeHandler);
