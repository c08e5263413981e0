import type { RouteHandler } from "@hono/zod-openapi";
import { connectWithToken, startOAuth } from "../../../../../core/integrations/connections";
import type { AppEnv } from "../../../context";
import { adminRoute, errorBody, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { authorizationSchema, connectBody, connectionSchema, providerParam } from "./schemas";

export const route = adminRoute("integrations:write", {
  method: "post",
  path: "/{provider}/connect",
  tags: ["Integrations"],
  operationId: "connectIntegration",
  summary: "Connect an integration",
  description:
    "`method: oauth` answers the provider's authorization URL (OAuth 2 authorization code, with PKCE where the provider supports it, and a signed " +
    "single-use `state` bound to this tenant, caller and provider that expires in 10 minutes); the provider then calls back " +
    "`GET /v1/integrations/{provider}/callback`. `method: token` connects with the provider's non-OAuth credentials (HubSpot private app token, " +
    "Stripe restricted key, Salesforce JWT bearer), checked by one authenticated call before anything is stored. Connecting again replaces the connection.",
  request: { params: providerParam, body: jsonBody(connectBody) },
  responses: {
    200: jsonResponse(authorizationSchema, "OAuth: where to send the browser"),
    201: jsonResponse(connectionSchema, "Token: the connection"),
    422: jsonResponse(
      errorBody,
      "Credentials of the wrong shape (`INVALID_CREDENTIALS`) or refused by the provider (`INTEGRATION_PROVIDER_REFUSED`)",
    ),
    503: jsonResponse(
      errorBody,
      "OAuth is not configured for this provider here (`INTEGRATION_NOT_CONFIGURED`) or secrets cannot be stored",
    ),
  },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const { provider } = c.req.valid("param");
  const body = c.req.valid("json");
  if (body.method === "oauth") return c.json(await runVerb(c, startOAuth, { provider }), 200);
  return c.json(await runVerb(c, connectWithToken, { provider, credentials: body.credentials }), 201);
};
