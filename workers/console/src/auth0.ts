import type { Auth0Client } from "@auth0/auth0-spa-js";
import type { Schemas } from "./api/client";

/**
 * Sign-in through Auth0 Universal Login with `@auth0/auth0-spa-js`: authorization code with PKCE,
 * tokens in memory only (`cacheLocation: "memory"`, no refresh tokens), the organisation asked for
 * by id. The SDK is loaded only where Auth0 signs in, so the local console does not carry it.
 *
 * Auth0 sends the browser back to `/console/` with `?code&state` (or `?error&state`), or an
 * invitation email opens `/console/?invitation&organization`. Both are read once, when the console
 * loads, and removed from the address bar at once.
 */
export type Auth0Config = NonNullable<Schemas["SignInConfig"]["auth0"]>;

export type Returned = { kind: "callback"; url: string } | { kind: "invitation"; invitation: string; organization: string } | null;

export const returned: Returned = (() => {
  const query = new URLSearchParams(window.location.search);
  let found: Returned = null;
  if (query.has("state") && (query.has("code") || query.has("error"))) found = { kind: "callback", url: window.location.href };
  else if (query.get("invitation") && query.get("organization"))
    found = { kind: "invitation", invitation: query.get("invitation")!, organization: query.get("organization")! };
  if (found) history.replaceState(null, "", `${window.location.pathname}#/sign-in`);
  return found;
})();

let client: Promise<Auth0Client> | undefined;

function auth0(config: Auth0Config): Promise<Auth0Client> {
  // The constructor, not createAuth0Client: that one first tries a silent sign-in in a hidden
  // frame, which the console's CSP (frame-ancestors 'none') would leave hanging until its timeout.
  return (client ??= import("@auth0/auth0-spa-js").then(
    ({ Auth0Client }) =>
      new Auth0Client({
        domain: config.domain,
        clientId: config.clientId,
        cacheLocation: "memory",
        useRefreshTokens: false,
        authorizationParams: {
          audience: config.audience,
          redirect_uri: `${window.location.origin}/console/`,
          scope: "openid profile email",
        },
      }),
  ));
}

/** Where to go after Auth0 sends the browser back. */
interface AppState {
  returnTo?: string;
}

/** Off to Universal Login; `organization` signs in to that tenant, `invitation` accepts one, `signUp` opens the sign-up screen. */
export async function signInWithAuth0(
  config: Auth0Config,
  options: { organization?: string; invitation?: string; signUp?: boolean; returnTo?: string } = {},
): Promise<void> {
  const client = await auth0(config);
  await client.loginWithRedirect<AppState>({
    authorizationParams: {
      ...(options.organization ? { organization: options.organization } : {}),
      ...(options.invitation ? { invitation: options.invitation } : {}),
      ...(options.signUp ? { screen_hint: "signup" } : {}),
    },
    appState: { ...(options.returnTo ? { returnTo: options.returnTo } : {}) },
  });
}

export interface Auth0SignIn {
  accessToken: string;
  expiresAt: string;
  subject: string;
  /** The organisation signed in to; absent for someone who belongs to none yet. */
  organization?: string;
  returnTo?: string;
}

/** Finishes the redirect back from Auth0: the code is exchanged (with the PKCE verifier) for tokens kept in memory. */
export async function completeAuth0SignIn(config: Auth0Config, url: string): Promise<Auth0SignIn> {
  const client = await auth0(config);
  const { appState } = await client.handleRedirectCallback<AppState>(url);
  const claims = await client.getIdTokenClaims();
  const token = await client.getTokenSilently({ detailedResponse: true });
  if (!token) throw new Error("Auth0 returned no access token");
  const organization = claims?.[config.organizationClaim];
  return {
    accessToken: token.access_token,
    expiresAt: new Date(Date.now() + token.expires_in * 1000).toISOString(),
    subject: claims?.sub ?? "",
    ...(typeof organization === "string" && organization ? { organization } : {}),
    ...(appState?.returnTo ? { returnTo: appState.returnTo } : {}),
  };
}

/** Ends the Auth0 session too, and comes back to the console's sign-in page. */
export async function signOutOfAuth0(config: Auth0Config): Promise<void> {
  const client = await auth0(config);
  await client.logout({ logoutParams: { returnTo: `${window.location.origin}/console/` } });
}

const ORGANIZATION_KEY = "console.auth0.organization";

/** The organisation last signed in to (an id, not a secret), so the next sign-in goes straight there. */
export const rememberedOrganization = {
  get: () => localStorage.getItem(ORGANIZATION_KEY) ?? undefined,
  set: (organization: string) => localStorage.setItem(ORGANIZATION_KEY, organization),
  forget: () => localStorage.removeItem(ORGANIZATION_KEY),
};
