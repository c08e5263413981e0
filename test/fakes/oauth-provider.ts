import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The OAuth 2 authorization server part the provider fakes share (HubSpot, Salesforce, Stripe
 * Connect): an authorize endpoint that approves at once and redirects back with a code (as a user
 * clicking "Allow" would), a token endpoint for `authorization_code` (PKCE S256 checked when a
 * challenge was sent, or required) and `refresh_token` (optionally rotating), revocation, and the
 * bearer check the REST endpoints use. Each fake maps its provider's own paths and error shapes
 * onto this.
 */
export interface FakeOAuthOptions {
  clientId: string;
  clientSecret: string;
  /** `expires_in` of access tokens; undefined: they carry none (Salesforce, Stripe). */
  accessLifetimeSeconds?: number;
  /** A refresh answers a new refresh token and retires the old one. */
  rotateRefreshTokens?: boolean;
  /** `required`: an authorization without a challenge is refused (Salesforce with PKCE enforced). */
  pkce: "required" | "optional";
  /** Extra fields of every token answer (Salesforce's `instance_url`, Stripe's `stripe_user_id`). */
  tokenExtras?: (grant: "authorization_code" | "refresh_token") => Record<string, unknown>;
  /** Token types as the provider spells them ("Bearer", "bearer"). */
  tokenType?: string;
}

export interface OAuthError {
  status: number;
  error: string;
  description: string;
}

interface Grant {
  refreshToken: string;
  scope: string;
  revoked: boolean;
}

export class FakeOAuthServer {
  readonly counts = { authorize: 0, exchange: 0, refresh: 0, revoke: 0 };
  private readonly codes = new Map<string, { redirectUri: string; challenge?: string; scope: string; used: boolean }>();
  private readonly accessTokens = new Map<string, Grant>();
  private readonly grants = new Map<string, Grant>();
  /** Refresh requests queued while `holdRefreshes` is set, to make concurrent refreshes overlap. */
  private refreshDelayMs = 0;

  constructor(readonly options: FakeOAuthOptions) {}

  /** `GET authorize`: the redirect back with a code, or the error to show (a real provider's error page). */
  authorize(url: URL): { redirect: string } | OAuthError {
    this.counts.authorize++;
    const redirectUri = url.searchParams.get("redirect_uri");
    if (url.searchParams.get("client_id") !== this.options.clientId)
      return { status: 400, error: "invalid_client", description: "unknown client_id" };
    if (!redirectUri) return { status: 400, error: "invalid_request", description: "redirect_uri is required" };
    const challenge = url.searchParams.get("code_challenge") ?? undefined;
    if (challenge && url.searchParams.get("code_challenge_method") !== "S256")
      return { status: 400, error: "invalid_request", description: "only S256 challenges" };
    if (this.options.pkce === "required" && !challenge)
      return { status: 400, error: "invalid_request", description: "missing code_challenge" };
    const code = `code-${randomBytes(12).toString("hex")}`;
    this.codes.set(code, { redirectUri, ...(challenge ? { challenge } : {}), scope: url.searchParams.get("scope") ?? "", used: false });
    const back = new URL(redirectUri);
    back.searchParams.set("code", code);
    const state = url.searchParams.get("state");
    if (state !== null) back.searchParams.set("state", state);
    return { redirect: back.toString() };
  }

  /** Answers `GET authorize` over HTTP: the 302 back to the client, or the provider's plain-text error page. */
  answerAuthorize(url: URL, response: ServerResponse): void {
    const result = this.authorize(url);
    if ("redirect" in result) response.writeHead(302, { location: result.redirect }).end();
    else response.writeHead(result.status, { "content-type": "text/plain" }).end(`${result.error}: ${result.description}`);
  }

  /** A code as if the user approved, without the browser round trip (tests drive the callback themselves). */
  approve(options: { redirectUri: string; codeChallenge?: string; scope?: string }): string {
    const url = new URL("http://fake/authorize");
    url.searchParams.set("client_id", this.options.clientId);
    url.searchParams.set("redirect_uri", options.redirectUri);
    if (options.codeChallenge) {
      url.searchParams.set("code_challenge", options.codeChallenge);
      url.searchParams.set("code_challenge_method", "S256");
    }
    const result = this.authorize(url);
    if (!("redirect" in result)) throw new Error(result.description);
    return new URL(result.redirect).searchParams.get("code")!;
  }

  /** `POST token` (form body, client credentials in the body or HTTP Basic). */
  async token(form: URLSearchParams, authorization: string | undefined): Promise<{ status: number; body: Record<string, unknown> }> {
    const client = clientOf(form, authorization);
    if (client.id !== this.options.clientId || client.secret !== this.options.clientSecret)
      return refusal(401, "invalid_client", "client authentication failed");
    const grantType = form.get("grant_type");
    if (grantType === "authorization_code") {
      this.counts.exchange++;
      const code = this.codes.get(form.get("code") ?? "");
      if (!code || code.used) return refusal(400, "invalid_grant", "authorization code is invalid or was used");
      code.used = true;
      if (form.get("redirect_uri") !== code.redirectUri) return refusal(400, "invalid_grant", "redirect_uri mismatch");
      if (code.challenge) {
        const verifier = form.get("code_verifier");
        if (!verifier) return refusal(400, "invalid_grant", "code_verifier is missing");
        if (createHash("sha256").update(verifier).digest("base64url") !== code.challenge)
          return refusal(400, "invalid_grant", "code_verifier does not match the challenge");
      }
      const grant: Grant = { refreshToken: token("rt"), scope: code.scope, revoked: false };
      this.grants.set(grant.refreshToken, grant);
      return { status: 200, body: this.issue(grant, "authorization_code", true) };
    }
    if (grantType === "refresh_token") {
      this.counts.refresh++;
      if (this.refreshDelayMs) await new Promise((resolve) => setTimeout(resolve, this.refreshDelayMs));
      const grant = this.grants.get(form.get("refresh_token") ?? "");
      if (!grant || grant.revoked) return refusal(400, "invalid_grant", "refresh token is invalid, expired or revoked");
      let rotated = false;
      if (this.options.rotateRefreshTokens) {
        this.grants.delete(grant.refreshToken);
        grant.refreshToken = token("rt");
        this.grants.set(grant.refreshToken, grant);
        rotated = true;
      }
      return { status: 200, body: this.issue(grant, "refresh_token", rotated) };
    }
    return refusal(400, "unsupported_grant_type", `grant_type ${grantType ?? "(none)"} is not supported`);
  }

  /** Issues an access token for a grant outside the flows (a JWT bearer grant, a private app token). */
  issueFor(scope = ""): string {
    const grant: Grant = { refreshToken: token("rt-unused"), scope, revoked: false };
    const access = token("at");
    this.accessTokens.set(access, grant);
    return access;
  }

  private issue(grant: Grant, kind: "authorization_code" | "refresh_token", withRefresh: boolean): Record<string, unknown> {
    const access = token("at");
    this.accessTokens.set(access, grant);
    return {
      access_token: access,
      token_type: this.options.tokenType ?? "bearer",
      ...(withRefresh ? { refresh_token: grant.refreshToken } : {}),
      ...(this.options.accessLifetimeSeconds ? { expires_in: this.options.accessLifetimeSeconds } : {}),
      ...(grant.scope ? { scope: grant.scope } : {}),
      ...this.options.tokenExtras?.(kind),
    };
  }

  /** Whether a bearer token works now (issued, not expired by the test, grant not revoked). */
  valid(authorization: string | undefined): boolean {
    const bearer = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1];
    const grant = bearer ? this.accessTokens.get(bearer) : undefined;
    return Boolean(grant && !grant.revoked);
  }

  /** Revokes the grant a refresh or access token belongs to. */
  revoke(tokenValue: string): boolean {
    this.counts.revoke++;
    const grant = this.grants.get(tokenValue) ?? this.accessTokens.get(tokenValue);
    if (!grant) return false;
    grant.revoked = true;
    return true;
  }

  /** Every access token issued so far stops working (as if expired early); refresh tokens still work. */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** Every grant is revoked: refreshes fail with invalid_grant from now on. */
  revokeAll(): void {
    for (const grant of this.grants.values()) grant.revoked = true;
    this.accessTokens.clear();
  }

  /** Refresh requests take this long (so concurrent ones overlap). */
  slowRefreshes(ms: number): void {
    this.refreshDelayMs = ms;
  }
}

function token(prefix: string): string {
  return `${prefix}-${randomBytes(18).toString("base64url")}`;
}

function refusal(status: number, error: string, description: string) {
  return { status, body: { error, error_description: description } };
}

function clientOf(form: URLSearchParams, authorization: string | undefined): { id?: string; secret?: string } {
  const basic = /^Basic (.+)$/i.exec(authorization ?? "")?.[1];
  if (basic) {
    const [id, secret] = Buffer.from(basic, "base64").toString("utf8").split(":");
    return { id: decodeURIComponent(id ?? ""), secret: decodeURIComponent(secret ?? "") };
  }
  return { id: form.get("client_id") ?? undefined, secret: form.get("client_secret") ?? undefined };
}

/** The request body as text (form or JSON bodies). */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

/** A scripted failure for the next requests of a REST API: `count` answers of `status` (429 with Retry-After). */
export class FailureScript {
  private queue: Array<{ status: number; retryAfter?: string }> = [];
  next(count: number, status: number, retryAfter?: string): void {
    for (let i = 0; i < count; i++) this.queue.push({ status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
  }
  take(): { status: number; retryAfter?: string } | undefined {
    return this.queue.shift();
  }
}
