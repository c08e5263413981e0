import { OpenAPIHono } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import type { AppEnv } from "../../context";
import { authenticate } from "../../middleware/authenticate";
import { tenantCors } from "../../middleware/cors";
import { database } from "../../middleware/database";
import { validationHook } from "./openapi";
import { publicBaseUrl } from "./run";
import { agentsApi } from "./agents";
import { alertsApi } from "./alerts";
import { analyticsApi } from "./analytics";
import { apiKeysApi } from "./api-keys";
import { tenantNotDeleted } from "../../middleware/tenant-status";
import { contactsApi } from "./contacts";
import { exportsApi, importsApi } from "./exports";
import { conversationsApi } from "./conversations";
import { auditLogApi } from "./audit-log";
import { channelsApi } from "./channels";
import { invitationsApi } from "./invitations";
import { knowledgeBasesApi } from "./knowledge-bases";
import { meApi } from "./me";
import { rolesApi } from "./roles";
import { tenantApi } from "./tenant";
import { billingApi } from "./billing";
import { usersApi } from "./users";
import { toolsApi } from "./tools";
import { integrationConnectionsApi, integrationsApi } from "./integrations";
import * as integrationCallback from "./integrations/callback";
import { localSignInOnly, sessionApi, signUpEnabled } from "./session";

const DESCRIPTION = `The admin API of the agent platform, one tenant per caller.

Authenticate with \`Authorization: Bearer <token>\`, where the token is an Auth0 access token
(the tenant comes from its organisation), an API key (\`ak_…\`), or, on deployments without Auth0, a
console session from \`POST /v1/session\`. Each route names the permission it
needs in \`x-permission\`. Errors are \`{ "error": { "code", "message", "requestId", "details"? } }\`.
Lists are newest first and paginate with \`?limit=\` and the \`nextCursor\` of the previous page.`;

/**
 * Everything under `/v1`. The document and its reference page are public; every other route runs
 * database → CORS → authentication, then the route's own permission check.
 */
export const v1Api = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).basePath("/v1");

v1Api.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
  type: "http",
  scheme: "bearer",
  description:
    "An Auth0 access token (JWT, RS256), an API key `ak_<id>_<secret>`, or, where Auth0 is not configured, a console session from `POST /v1/session`.",
});

// `servers` names this deployment, so generators and Bubble.io's API Connector call the right host.
v1Api.doc31("/openapi.json", (c) => ({
  openapi: "3.1.0",
  info: {
    title: "Agent platform admin API",
    version: "1.0.0",
    description: DESCRIPTION,
    license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
  },
  servers: [{ url: publicBaseUrl(c), description: "This deployment" }],
}));
v1Api.get("/docs", swaggerUI({ url: "/v1/openapi.json", title: "Agent platform admin API" }));

// The OAuth callback is public (the provider's redirect carries no bearer token; its signed,
// single-use state names the tenant), so it is mounted before authentication.
v1Api.use(integrationCallback.route.getRoutingPath(), database());
v1Api.openapi(integrationCallback.route, integrationCallback.handler);

// Sign-in: the console's sign-in configuration, redeeming a link (LOCAL_SIGN_IN=on) and signing up
// (locally, or with a not-yet-member's Auth0 token) come before the authentication of members.
v1Api.use("/session", localSignInOnly, database());
v1Api.use("/invitation-acceptances", localSignInOnly, database());
v1Api.use("/signup", signUpEnabled, database());
v1Api.route("/", sessionApi);

v1Api.use("*", database(), tenantCors(), authenticate(), tenantNotDeleted());

// Agents, tools, channels and knowledge mount theirs here the same way.
v1Api
  .route("/me", meApi)
  .route("/tenant", tenantApi)
  .route("/billing", billingApi)
  .route("/users", usersApi)
  .route("/invitations", invitationsApi)
  .route("/roles", rolesApi)
  .route("/api-keys", apiKeysApi)
  .route("/audit-log", auditLogApi)
  .route("/channels", channelsApi)
  .route("/agents", agentsApi)
  .route("/knowledge-bases", knowledgeBasesApi)
  .route("/conversations", conversationsApi)
  .route("/contacts", contactsApi)
  .route("/exports", exportsApi)
  .route("/imports", importsApi)
  .route("/analytics", analyticsApi)
  .route("/alerts", alertsApi)
  .route("/tools", toolsApi)
  .route("/integrations", integrationsApi)
  .route("/integration-connections", integrationConnectionsApi);
