import type { Client } from "@hubspot/api-client";
import { z } from "zod";
import { base } from "../config";
import { errorFromResponse, providerJson } from "../http";
import { ProviderError, type IntegrationProvider } from "../types";
import { hubspotTools, logHubSpotTranscript } from "./tools";

/**
 * HubSpot: OAuth through a public app (HubSpot's authorization code flow; access tokens last 30
 * minutes, refresh tokens do not rotate), or a private app's access token. Tools through the
 * official `@hubspot/api-client`, its base path pointed at HUBSPOT_API_BASE.
 */
export const hubspot: IntegrationProvider<Client> = {
  id: "hubspot",
  name: "HubSpot",
  description: "Find and update contacts, open tickets, add notes and create deals in the tenant's HubSpot CRM.",
  docsUrl: "https://developers.hubspot.com/docs/api/private-apps",
  oauth: {
    pkce: false,
    scopes: ["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.deals.write", "tickets"],
    authorizationEndpoint: (config) => `${base(config.HUBSPOT_AUTH_BASE)}/oauth/authorize`,
    tokenEndpoint: (config) => `${base(config.HUBSPOT_API_BASE)}/oauth/v1/token`,
    app: (config) =>
      config.HUBSPOT_CLIENT_ID && config.HUBSPOT_CLIENT_SECRET
        ? { clientId: config.HUBSPOT_CLIENT_ID, clientSecret: config.HUBSPOT_CLIENT_SECRET }
        : undefined,
    credentials: (response, _config, previous) => ({
      accessToken: response.access_token,
      ...((response.refresh_token ?? previous?.refreshToken) ? { refreshToken: response.refresh_token ?? previous?.refreshToken } : {}),
    }),
  },
  token: {
    label: "Private app access token",
    fields: z.object({
      accessToken: z
        .string()
        .trim()
        .regex(/^pat-[a-z0-9]+-[A-Za-z0-9-]+$/, "a private app token starts with pat-"),
    }),
    exchange: async (fields) => ({ credentials: { accessToken: fields.accessToken! } }),
  },
  settings: z.object({ logConversations: z.boolean().default(false) }).strict(),
  async probe(access, http) {
    const details = await providerJson<{ portalId?: number; uiDomain?: string; accountType?: string }>(
      "HubSpot",
      http.fetch,
      `${base(http.config.HUBSPOT_API_BASE)}/account-info/v3/details`,
      { headers: { authorization: `Bearer ${access.accessToken}` } },
    );
    if (!details?.portalId) throw new ProviderError("HubSpot answered without an account id.");
    return { id: String(details.portalId), ...(details.accountType ? { accountType: details.accountType } : {}) };
  },
  async revoke(credentials, http) {
    // Private app tokens are revoked by the tenant in HubSpot; an OAuth grant by its refresh token.
    if (!credentials.refreshToken) return false;
    const response = await http.fetch(
      `${base(http.config.HUBSPOT_API_BASE)}/oauth/v1/refresh/${encodeURIComponent(credentials.refreshToken)}`,
      { method: "DELETE", signal: AbortSignal.timeout(15_000) },
    );
    return response.ok;
  },
  async client(access, config) {
    const { Client } = await import("@hubspot/api-client");
    // Retries are ours (one place honours Retry-After for every provider): the SDK's are off.
    return new Client({ accessToken: access.accessToken, basePath: base(config.HUBSPOT_API_BASE), numberOfApiCallRetries: 0 });
  },
  sdkError(error) {
    const failure = error as { code?: unknown; body?: unknown; headers?: Record<string, string> };
    if (typeof failure?.code === "number" && failure.code >= 400)
      return errorFromResponse("HubSpot", failure.code, failure.headers?.["retry-after"], parseBody(failure.body));
    return undefined;
  },
  tools: hubspotTools,
  logTranscript: logHubSpotTranscript,
};

function parseBody(body: unknown): unknown {
  if (typeof body !== "string") return body;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
