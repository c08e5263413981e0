import { z, type RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Keyring } from "../../../../../core/crypto/secrets";
import {
  getProviderKeys,
  KEYED_PROVIDERS,
  providerKeyInput,
  providerKeyStatus,
  removeProviderKey,
  setProviderKey,
} from "../../../../../core/tenants/provider-keys";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";

const statusSchema = providerKeyStatus.openapi("ProviderKeyStatus");
const providerParam = z.object({
  provider: z.enum(KEYED_PROVIDERS).openapi({ param: { name: "provider", in: "path" }, example: "openai" }),
});

export const getRoute = adminRoute("settings:read", {
  method: "get",
  path: "/provider-keys",
  tags: ["Tenant"],
  operationId: "listProviderKeys",
  summary: "Which model providers use the tenant's own key",
  description: "Keys are never returned, only whether one is configured.",
  responses: { 200: jsonResponse(statusSchema, "Per provider, whether a key is set") },
});

export const putRoute = adminRoute("settings:write", {
  method: "put",
  path: "/provider-keys/{provider}",
  tags: ["Tenant"],
  operationId: "setProviderKey",
  summary: "Set the tenant's own key for a model provider",
  description:
    "`{ apiKey }` for openai, gemini and groq; `{ accessKeyId, secretAccessKey, sessionToken? }` for bedrock. Stored encrypted; used before the platform's key.",
  request: { params: providerParam, body: jsonBody(providerKeyInput.openapi("ProviderKey")) },
  responses: { 200: jsonResponse(statusSchema, "Per provider, whether a key is set") },
});

export const deleteRoute = adminRoute("settings:write", {
  method: "delete",
  path: "/provider-keys/{provider}",
  tags: ["Tenant"],
  operationId: "deleteProviderKey",
  summary: "Remove the tenant's own key for a model provider (the platform's is used again)",
  request: { params: providerParam },
  responses: { 200: jsonResponse(statusSchema, "Per provider, whether a key is set") },
});

/** The keyring that seals secrets; without one the edge cannot store secrets at all. */
function keyringOf(c: Context<AppEnv>): Keyring {
  const { keyring } = c.get("services");
  if (!keyring) throw new ApiError(503, "SECRETS_UNAVAILABLE", "Secrets cannot be stored right now.");
  return keyring;
}

export const getHandler: RouteHandler<typeof getRoute, AppEnv> = async (c) => c.json(await runVerb(c, getProviderKeys, undefined), 200);

export const putHandler: RouteHandler<typeof putRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, setProviderKey(keyringOf(c)), { provider: c.req.valid("param").provider, key: c.req.valid("json") }), 200);

export const deleteHandler: RouteHandler<typeof deleteRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, removeProviderKey, c.req.valid("param")), 200);
