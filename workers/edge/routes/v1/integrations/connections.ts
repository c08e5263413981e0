import { z, type RouteHandler } from "@hono/zod-openapi";
import { deleteConnection, getConnection, testConnection, updateConnection } from "../../../../../core/integrations/connections";
import type { AppEnv } from "../../../context";
import { adminRoute, errorBody, jsonBody, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { connectionSchema, connectionTestSchema } from "./schemas";

export const getRoute = adminRoute("integrations:read", {
  method: "get",
  path: "/{connectionId}",
  tags: ["Integrations"],
  operationId: "getIntegrationConnection",
  summary: "Get a connection",
  request: { params: uuidParam("connectionId") },
  responses: { 200: jsonResponse(connectionSchema, "The connection; its tokens are never returned") },
});

export const updateRoute = adminRoute("integrations:write", {
  method: "patch",
  path: "/{connectionId}",
  tags: ["Integrations"],
  operationId: "updateIntegrationConnection",
  summary: "Change a connection's settings",
  description:
    "HubSpot and Salesforce: `logConversations` writes a conversation's transcript to the CRM (a note on the contact, a task on the contact or lead) when it is handed to a person.",
  request: {
    params: uuidParam("connectionId"),
    body: jsonBody(
      z
        .object({ settings: z.record(z.string(), z.unknown()) })
        .strict()
        .openapi("UpdateIntegrationConnection"),
    ),
  },
  responses: {
    200: jsonResponse(connectionSchema, "The connection"),
    422: jsonResponse(errorBody, "Not this provider's settings (`INVALID_SETTINGS`)"),
  },
});

export const testRoute = adminRoute("integrations:write", {
  method: "post",
  path: "/{connectionId}/test",
  tags: ["Integrations"],
  operationId: "testIntegrationConnection",
  summary: "Test a connection",
  description:
    "One cheap authenticated call to the provider (the account's identity), refreshing the token first when it is about to expire.",
  request: { params: uuidParam("connectionId") },
  responses: { 200: jsonResponse(connectionTestSchema, "What the provider answered") },
});

export const deleteRoute = adminRoute("integrations:delete", {
  method: "delete",
  path: "/{connectionId}",
  tags: ["Integrations"],
  operationId: "deleteIntegrationConnection",
  summary: "Disconnect an integration",
  description:
    "Revokes the grant at the provider (best effort: `revoked` says whether the provider confirmed it), then deletes the connection and its tokens.",
  request: { params: uuidParam("connectionId") },
  responses: { 200: jsonResponse(z.object({ revoked: z.boolean() }).openapi("IntegrationDisconnected"), "Disconnected") },
});

export const getHandler: RouteHandler<typeof getRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, getConnection, c.req.valid("param")), 200);
export const updateHandler: RouteHandler<typeof updateRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, updateConnection, { ...c.req.valid("param"), settings: c.req.valid("json").settings }), 200);
export const testHandler: RouteHandler<typeof testRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, testConnection, c.req.valid("param")), 200);
export const deleteHandler: RouteHandler<typeof deleteRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, deleteConnection, c.req.valid("param")), 200);
