import { jwtVerify, SignJWT } from "jose";
import * as oauth from "oauth4webapi";
import { fromBase64 } from "../crypto/encoding";
import { deriveSecret } from "../crypto/hmac";
import type { IntegrationConfig } from "./config";
import { ProviderError, type IntegrationProvider, type ProviderId, type TokenResponse } from "./types";

/**
 * The OAuth 2 authorization code flow shared by every provider, on oauth4webapi (panva's
 * standards-checked client, which runs in workerd and Node): the signed `state`, PKCE (S256), the
 * code exchange and refresh grants. Per provider only the endpoints, scopes and the reading of the
 * token response differ (`IntegrationProvider.oauth`).
 */

/** How long a started authorization may take, in seconds (the state's `exp` and the row's `expires_at`). */
export const STATE_TTL_SECONDS = 600;

const ISSUER = "agent-platform/integrations";

/** What the signed `state` carries; the row `oauth_states.id = nonce` makes it single-use. */
export interface OAuthStateClaims {
  tenantId: string;
  actorId: string;
  provider: ProviderId;
  nonce: string;
}

async function stateKey(signingKey: string): Promise<Uint8Array> {
  return fromBase64(await deriveSecret(signingKey, "oauth-state", "jwt-hs256"));
}

export async function signState(signingKey: string, claims: OAuthStateClaims, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ tid: claims.tenantId, act: claims.actorId, prv: claims.provider })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(`integration:${claims.provider}`)
    .setJti(claims.nonce)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + STATE_TTL_SECONDS)
    .sign(await stateKey(signingKey));
}

/** Why a callback's state was refused, in words for the error page. */
export type StateRefusal = "missing" | "invalid" | "expired" | "wrong_provider";

/** The claims of a state signed here for this provider, or why it is refused (forged, tampered, expired, another provider's). */
export async function verifyState(
  signingKey: string,
  state: string | undefined,
  provider: ProviderId,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<{ ok: true; claims: OAuthStateClaims } | { ok: false; reason: StateRefusal }> {
  if (!state) return { ok: false, reason: "missing" };
  if (state.length > 2048) return { ok: false, reason: "invalid" };
  try {
    const { payload } = await jwtVerify(state, await stateKey(signingKey), {
      algorithms: ["HS256"],
      issuer: ISSUER,
      currentDate: new Date(nowSeconds * 1000),
      clockTolerance: 0,
      requiredClaims: ["exp", "jti", "aud"],
    });
    const { tid, act, prv, jti, aud } = payload as { tid?: unknown; act?: unknown; prv?: unknown; jti?: unknown; aud?: unknown };
    if (typeof tid !== "string" || typeof act !== "string" || typeof jti !== "string") return { ok: false, reason: "invalid" };
    if (prv !== provider || aud !== `integration:${provider}`) return { ok: false, reason: "wrong_provider" };
    return { ok: true, claims: { tenantId: tid, actorId: act, provider, nonce: jti } };
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { ok: false, reason: code === "ERR_JWT_EXPIRED" ? "expired" : "invalid" };
  }
}

/** A fresh PKCE verifier and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) };
}

/** The provider's authorization URL the tenant's browser is sent to. */
export function authorizationUrl(
  provider: IntegrationProvider,
  config: IntegrationConfig,
  request: { clientId: string; redirectUri: string; state: string; codeChallenge?: string },
): string {
  const url = new URL(provider.oauth.authorizationEndpoint(config));
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", request.clientId);
  url.searchParams.set("redirect_uri", request.redirectUri);
  if (provider.oauth.scopes.length) url.searchParams.set("scope", provider.oauth.scopes.join(" "));
  for (const [key, value] of Object.entries(provider.oauth.authorizeParams ?? {})) url.searchParams.set(key, value);
  url.searchParams.set("state", request.state);
  if (request.codeChallenge) {
    url.searchParams.set("code_challenge", request.codeChallenge);
    url.searchParams.set("code_challenge_method", "S256");
  }
  return url.toString();
}

interface GrantOptions {
  fetch?: typeof fetch;
}

function server(provider: IntegrationProvider, config: IntegrationConfig): oauth.AuthorizationServer {
  const tokenEndpoint = provider.oauth.tokenEndpoint(config);
  return { issuer: new URL(tokenEndpoint).origin, token_endpoint: tokenEndpoint };
}

function requestOptions(config: IntegrationConfig, options: GrantOptions): oauth.TokenEndpointRequestOptions {
  return {
    // Loopback fakes speak plain HTTP; production endpoints are all HTTPS.
    [oauth.allowInsecureRequests]: isLoopbackEndpointConfig(config),
    ...(options.fetch ? { [oauth.customFetch]: options.fetch } : {}),
    signal: AbortSignal.timeout(15_000),
  };
}

/** True when the provider endpoints point at this machine (tests and `npm start`), the only place plain HTTP is allowed. */
function isLoopbackEndpointConfig(config: IntegrationConfig): boolean {
  return [config.HUBSPOT_API_BASE, config.SALESFORCE_LOGIN_URL, config.STRIPE_API_BASE, config.STRIPE_CONNECT_BASE].some((url) => {
    const host = new URL(url).hostname;
    return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
  });
}

/** Exchanges the callback's code (with the PKCE verifier where the provider takes one) for tokens. */
export async function exchangeCode(
  provider: IntegrationProvider,
  config: IntegrationConfig,
  callback: { code: string; state: string; redirectUri: string; codeVerifier?: string },
  options: GrantOptions = {},
): Promise<TokenResponse> {
  const app = provider.oauth.app(config);
  if (!app) throw new ProviderError(`${provider.name} OAuth is not configured on this platform.`);
  const as = server(provider, config);
  const client: oauth.Client = { client_id: app.clientId };
  return grant(provider, async () => {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.ClientSecretPost(app.clientSecret),
      // The state was verified (signature, expiry, single use) before this; this re-reads the parameters as the library wants them.
      oauth.validateAuthResponse(as, client, new URLSearchParams({ code: callback.code, state: callback.state }), callback.state),
      callback.redirectUri,
      callback.codeVerifier ?? oauth.nopkce,
      requestOptions(config, options),
    );
    return oauth.processAuthorizationCodeResponse(as, client, response);
  });
}

/** A refresh grant; a refusal (`invalid_grant`: revoked, expired) is a ProviderError with `auth` set. */
export async function refreshGrant(
  provider: IntegrationProvider,
  config: IntegrationConfig,
  refreshToken: string,
  options: GrantOptions = {},
): Promise<TokenResponse> {
  const app = provider.oauth.app(config);
  if (!app) throw new ProviderError(`${provider.name} OAuth is not configured on this platform.`, undefined, { auth: true });
  const as = server(provider, config);
  const client: oauth.Client = { client_id: app.clientId };
  return grant(provider, async () => {
    const response = await oauth.refreshTokenGrantRequest(
      as,
      client,
      oauth.ClientSecretPost(app.clientSecret),
      refreshToken,
      requestOptions(config, options),
    );
    return oauth.processRefreshTokenResponse(as, client, response);
  });
}

/** Runs a grant and maps oauth4webapi's errors to ProviderErrors in the provider's words. */
async function grant(provider: IntegrationProvider, run: () => Promise<oauth.TokenEndpointResponse>): Promise<TokenResponse> {
  try {
    const response = await run();
    return response as unknown as TokenResponse;
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      const refused = error.error === "invalid_grant" || error.error === "invalid_client" || error.error === "unauthorized_client";
      throw new ProviderError(
        `${provider.name} refused the grant: ${error.error}${error.error_description ? ` (${error.error_description})` : ""}`,
        error.status,
        { auth: refused },
      );
    }
    if (error instanceof oauth.OperationProcessingError && error.cause instanceof Response && error.cause.status < 500) {
      // A refusal outside OAuth's error format (HubSpot answers `{"status":"BAD_REFRESH_TOKEN",...}`): for good.
      throw new ProviderError(`${provider.name} refused the grant (HTTP ${error.cause.status}).`, error.cause.status, { auth: true });
    }
    if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError)
      throw new ProviderError(`${provider.name} answered the token request in a way we cannot use: ${error.message}`);
    // oauth4webapi's argument checks are our bugs, not the provider's: let them surface.
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_INVALID_ARG_VALUE" || code === "ERR_INVALID_ARG_TYPE") throw error;
    throw new ProviderError(`${provider.name} could not be reached for the token request.`);
  }
}
