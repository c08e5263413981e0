import type { Connection } from "jsforce";
import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";
import { base, type IntegrationConfig } from "../config";
import { providerJson } from "../http";
import { ProviderError, type IntegrationProvider, type StoredCredentials, type TokenResponse } from "../types";
import { logSalesforceTranscript, salesforceTools } from "./tools";

/** The REST API version the tools use (jsforce's `version`). */
export const SALESFORCE_API_VERSION = "59.0";

/**
 * Salesforce: OAuth through a connected app (authorization code with PKCE; the token response names
 * the org's instance URL, and access tokens carry no lifetime, so a session is assumed to last two
 * hours and a 401 refreshes early), or the connected app's JWT bearer flow (a certificate's private
 * key and a pre-authorized user), which jsforce also supports. Tools through `jsforce`.
 */
export const salesforce: IntegrationProvider<Connection> = {
  id: "salesforce",
  name: "Salesforce",
  description: "Find contacts and leads, create leads and cases, and log tasks in the tenant's Salesforce org.",
  docsUrl: "https://help.salesforce.com/s/articleView?id=sf.connected_app_create_api_integration.htm",
  oauth: {
    pkce: true,
    scopes: ["api", "refresh_token"],
    defaultLifetimeSeconds: 7200,
    authorizationEndpoint: (config) => `${base(config.SALESFORCE_LOGIN_URL)}/services/oauth2/authorize`,
    tokenEndpoint: (config) => `${base(config.SALESFORCE_LOGIN_URL)}/services/oauth2/token`,
    app: (config) =>
      config.SALESFORCE_CLIENT_ID && config.SALESFORCE_CLIENT_SECRET
        ? { clientId: config.SALESFORCE_CLIENT_ID, clientSecret: config.SALESFORCE_CLIENT_SECRET }
        : undefined,
    credentials: (response, config, previous) => ({
      accessToken: response.access_token,
      instanceUrl: instanceUrlOf(response, config, previous),
      ...((response.refresh_token ?? previous?.refreshToken) ? { refreshToken: response.refresh_token ?? previous?.refreshToken } : {}),
    }),
  },
  token: {
    label: "Connected app with the JWT bearer flow",
    fields: z.object({
      username: z.string().trim().min(3).max(200),
      clientId: z.string().trim().min(10).max(300),
      privateKey: z.string().trim().includes("PRIVATE KEY", { message: "a PEM private key (PKCS #8)" }).max(10_000),
    }),
    async exchange(fields, config, http) {
      const jwtBearer = {
        clientId: fields.clientId!,
        username: fields.username!,
        privateKey: fields.privateKey!,
        audience: base(config.SALESFORCE_LOGIN_URL),
      };
      return { ...(await jwtBearerGrant(jwtBearer, config, http.fetch)), expiresInSeconds: 7200 };
    },
  },
  settings: z.object({ logConversations: z.boolean().default(false) }).strict(),
  async probe(access, http) {
    if (!access.instanceUrl) throw new ProviderError("The Salesforce connection has no instance URL.");
    const info = await providerJson<{ organization_id?: string; preferred_username?: string; name?: string }>(
      "Salesforce",
      http.fetch,
      `${base(access.instanceUrl)}/services/oauth2/userinfo`,
      { headers: { authorization: `Bearer ${access.accessToken}` } },
    );
    if (!info?.organization_id) throw new ProviderError("Salesforce answered without an organization id.");
    return {
      id: info.organization_id,
      ...(info.preferred_username ? { name: info.preferred_username } : {}),
      instanceUrl: access.instanceUrl,
    };
  },
  async revoke(credentials, http) {
    const token = credentials.refreshToken ?? credentials.accessToken;
    const response = await http.fetch(`${base(http.config.SALESFORCE_LOGIN_URL)}/services/oauth2/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }).toString(),
      signal: AbortSignal.timeout(15_000),
    });
    return response.ok;
  },
  async client(access) {
    const { Connection } = await import("jsforce");
    return new Connection({ instanceUrl: access.instanceUrl!, accessToken: access.accessToken, version: SALESFORCE_API_VERSION });
  },
  sdkError(error) {
    const failure = error as { errorCode?: unknown; message?: unknown };
    if (typeof failure?.errorCode !== "string") return undefined;
    const words = typeof failure.message === "string" ? failure.message.slice(0, 300) : failure.errorCode;
    if (failure.errorCode === "INVALID_SESSION_ID")
      return new ProviderError(`Salesforce refused the session: ${words}`, 401, { auth: true });
    if (failure.errorCode === "REQUEST_LIMIT_EXCEEDED")
      return new ProviderError(`Salesforce is rate limiting requests: ${words}`, 429, { retryAfterSeconds: 5 });
    if (failure.errorCode === "NOT_FOUND") return new ProviderError(`Salesforce found no such record: ${words}`, 404);
    return new ProviderError(`Salesforce refused the request (${failure.errorCode}): ${words}`, 400);
  },
  tools: salesforceTools,
  logTranscript: logSalesforceTranscript,
};

/**
 * The JWT bearer grant (RFC 7523) Salesforce connected apps offer for server-to-server access: an
 * RS256 assertion signed with the app certificate's key, no refresh token (a new assertion is the
 * refresh).
 */
export async function jwtBearerGrant(
  jwtBearer: NonNullable<StoredCredentials["jwtBearer"]>,
  config: IntegrationConfig,
  fetcher: typeof fetch,
): Promise<{ credentials: StoredCredentials }> {
  let key: CryptoKey;
  try {
    key = await importPKCS8(jwtBearer.privateKey, "RS256");
  } catch {
    throw new ProviderError("The private key is not a PKCS #8 RSA key in PEM form.", 400);
  }
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: "RS256" })
    .setIssuer(jwtBearer.clientId)
    .setSubject(jwtBearer.username)
    .setAudience(jwtBearer.audience)
    .setExpirationTime("3m")
    .sign(key);
  const response = await providerJson<TokenResponse>("Salesforce", fetcher, `${base(config.SALESFORCE_LOGIN_URL)}/services/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString(),
  }).catch((error: unknown) => {
    // Salesforce answers a refused assertion with 400 invalid_grant: the credentials, for good.
    if (error instanceof ProviderError && error.status === 400) throw new ProviderError(error.message, 400, { auth: true });
    throw error;
  });
  if (typeof response?.access_token !== "string") throw new ProviderError("Salesforce answered the JWT bearer grant without a token.");
  return { credentials: { accessToken: response.access_token, instanceUrl: instanceUrlOf(response, config), jwtBearer } };
}

/**
 * The instance URL from a token response, which then receives the token: only an HTTPS Salesforce
 * host (or the configured login host, a loopback fake in tests), so a tampered response cannot send
 * the token elsewhere.
 */
function instanceUrlOf(response: TokenResponse, config: IntegrationConfig, previous?: StoredCredentials): string {
  const value = typeof response.instance_url === "string" ? response.instance_url : previous?.instanceUrl;
  if (!value) throw new ProviderError("Salesforce answered without an instance URL.");
  if (!allowedInstanceUrl(value, config)) throw new ProviderError("Salesforce named an instance URL that is not a Salesforce host.");
  return base(value);
}

/** Whether a token may be sent to this instance URL. */
export function allowedInstanceUrl(instanceUrl: string, config: IntegrationConfig): boolean {
  let url: URL;
  try {
    url = new URL(instanceUrl);
  } catch {
    return false;
  }
  if (url.origin === new URL(config.SALESFORCE_LOGIN_URL).origin) return true;
  return url.protocol === "https:" && /(^|\.)(salesforce\.com|force\.com|salesforce\.mil|cloudforce\.com)$/.test(url.hostname);
}
