import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../../context";
import { validationHook } from "../openapi";
import * as agents from "./agents";
import * as connect from "./connect";
import * as connections from "./connections";
import * as list from "./list";

/** `/v1/integrations`: the catalogue, connecting and agents' integration tools (module `integrations`). The public OAuth callback is `callback.ts`, mounted before authentication. */
export const integrationsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(list.route, list.handler)
  .openapi(connect.route, connect.handler)
  .openapi(agents.route, agents.handler);

/**
 * `/v1/integration-connections`: one tenant's connections. Their own prefix, not
 * `/v1/integrations/connections/…`, which a path like `/v1/integrations/{provider}/callback` could
 * also match (ambiguous for generated clients).
 */
export const integrationConnectionsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(connections.getRoute, connections.getHandler)
  .openapi(connections.updateRoute, connections.updateHandler)
  .openapi(connections.testRoute, connections.testHandler)
  .openapi(connections.deleteRoute, connections.deleteHandler);
