import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { readBody, sendJson } from "./oauth-provider";

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

interface SigningKey {
  kid: string;
  pair: KeyPair;
  publicJwk: JWK;
}

export interface MintOptions {
  /** Claims merged over the defaults (sub, org_id, email, email_verified, iss, aud, iat, exp). `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** Extra or replaced protected-header fields (`kid`, `jku`, `x5u`, `jwk`...). */
  header?: Record<string, unknown>;
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number;
  /** Sign with this key instead of the current one (e.g. an attacker's). */
  key?: SigningKey;
}

/** A user of the fake tenant: who Universal Login signs in, and what the Management API says of them. */
export interface FakeAuth0User {
  sub: string;
  email: string;
  emailVerified: boolean;
  name?: string;
}

export interface FakeAuth0Organization {
  id: string;
  name: string;
  displayName?: string;
  members: Set<string>;
  enabledConnections: string[];
}

export interface FakeAuth0Invitation {
  id: string;
  orgId: string;
  email: string;
  inviterName: string;
  clientId: string;
  ttlSec?: number;
}

export interface FakeAuth0 {
  /** `http://127.0.0.1:PORT/`, with the trailing slash Auth0 puts in `iss`. */
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  /** An RS256 access token signed with the current key. */
  mint(options?: MintOptions): Promise<string>;
  /** A new key becomes current and is published beside the old ones. Returns its kid. */
  rotate(): Promise<string>;
  /** The current key's public key as PEM (for the HS256-with-the-public-key attack). */
  publicKeyPem(): Promise<string>;
  /** A key pair that is not in the JWKS, with its own kid. */
  strangerKey(): Promise<SigningKey>;
  /** `http://127.0.0.1:PORT`: where the Management API (`/api/v2`) and `/oauth/token` are. */
  baseUrl: string;
  /** The console's single-page application and the machine-to-machine one the edge uses. */
  consoleClientId: string;
  management: { clientId: string; clientSecret: string };
  /** Who the next Universal Login signs in (as if they typed their password). */
  signInAs(user: FakeAuth0User): void;
  /** The user clicked the link in Auth0's verification email. */
  verifyEmail(sub: string): void;
  readonly organizations: Map<string, FakeAuth0Organization>;
  readonly invitations: Map<string, FakeAuth0Invitation>;
  /** `user_id`s Auth0 was asked to send a verification email to. */
  readonly verificationEmails: string[];
  /** Universal Login requests, with their query (organization, code_challenge...). */
  readonly authorizeRequests: URLSearchParams[];
  /** The next `count` Management API calls (to paths matching `path`) answer this status (Auth0 down, rate-limited). */
  failManagement(status: number, options?: { count?: number; path?: RegExp }): void;
  close(): Promise<void>;
}

let keyCounter = 0;

async function newKey(): Promise<SigningKey> {
  const pair = await generateKeyPair("RS256", { extractable: true });
  const kid = `test-key-${++keyCounter}-${Math.random().toString(36).slice(2, 8)}`;
  return { kid, pair, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" } };
}

/**
 * A loopback stand-in for an Auth0 tenant: `/.well-known/jwks.json` with keys made in the test and
 * a minting helper for access tokens with any claims or header (counting JWKS fetches, so tests can
 * show a bad `kid` does not cause a fetch storm and a `jku` is not followed); Universal Login for the
 * console's SPA (`/authorize` signs in the user chosen with `signInAs`, PKCE S256 required;
 * `/oauth/token` answers RS256 access and ID tokens with `org_id` when an organisation was asked
 * for); and the Management API calls the platform makes, with client-credentials tokens.
 *
 * @example
 * const auth0 = await startFakeAuth0();
 * const token = await auth0.mint({ claims: { sub: "auth0|1", org_id: "org_a" } });
 */
export async function startFakeAuth0(options: { audience?: string } = {}): Promise<FakeAuth0> {
  const keys: SigningKey[] = [await newKey()];
  let fetches = 0;
  const current = () => keys[keys.length - 1]!;
  const audience = options.audience ?? "https://api.agent-platform.test";
  const consoleClientId = "console-spa-client";
  const management = { clientId: "m2m-client", clientSecret: `m2m-secret-${randomBytes(8).toString("hex")}` };
  const users = new Map<string, FakeAuth0User>();
  let signedIn: FakeAuth0User | undefined;
  const organizations = new Map<string, FakeAuth0Organization>();
  const invitations = new Map<string, FakeAuth0Invitation>();
  const verificationEmails: string[] = [];
  const authorizeRequests: URLSearchParams[] = [];
  const codes = new Map<
    string,
    { user: FakeAuth0User; redirectUri: string; challenge: string; nonce?: string; orgId?: string; used: boolean }
  >();
  const managementTokens = new Set<string>();
  const failures: Array<{ status: number; path?: RegExp }> = [];
  let base = "";

  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: current().kid }).sign(current().pair.privateKey);

  /** Universal Login: signs in the chosen user at once; an organisation they are no member of is refused. */
  function authorize(url: URL, response: ServerResponse) {
    const query = url.searchParams;
    authorizeRequests.push(query);
    const redirectUri = query.get("redirect_uri");
    if (query.get("client_id") !== consoleClientId || !redirectUri)
      return response.writeHead(400).end("invalid_request: client or redirect_uri");
    if (query.get("code_challenge_method") !== "S256" || !query.get("code_challenge"))
      return response.writeHead(400).end("invalid_request: PKCE (S256) is required");
    const back = new URL(redirectUri);
    const state = query.get("state");
    if (state !== null) back.searchParams.set("state", state);
    const orgId = query.get("organization") ?? undefined;
    // Accepting an organisation invitation (its email must be the user's) makes them a member.
    const invitation = invitations.get(query.get("invitation") ?? "");
    if (signedIn && orgId && invitation && invitation.orgId === orgId && invitation.email === signedIn.email.toLowerCase()) {
      organizations.get(orgId)?.members.add(signedIn.sub);
      invitations.delete(invitation.id);
    }
    if (!signedIn || (orgId && !organizations.get(orgId)?.members.has(signedIn.sub))) {
      back.searchParams.set("error", "access_denied");
      back.searchParams.set("error_description", signedIn ? "user is not a member of the organization" : "nobody signed in");
      return response.writeHead(302, { location: back.toString() }).end();
    }
    const code = `code-${randomBytes(12).toString("hex")}`;
    codes.set(code, {
      user: signedIn,
      redirectUri,
      challenge: query.get("code_challenge")!,
      ...(query.get("nonce") ? { nonce: query.get("nonce")! } : {}),
      ...(orgId ? { orgId } : {}),
      used: false,
    });
    back.searchParams.set("code", code);
    response.writeHead(302, { location: back.toString() }).end();
  }

  async function token(form: URLSearchParams): Promise<{ status: number; body: Record<string, unknown> }> {
    if (form.get("grant_type") === "client_credentials") {
      if (form.get("client_id") !== management.clientId || form.get("client_secret") !== management.clientSecret)
        return { status: 401, body: { error: "access_denied", error_description: "Unauthorized" } };
      const access = `mgmt-${randomBytes(12).toString("hex")}`;
      managementTokens.add(access);
      return { status: 200, body: { access_token: access, token_type: "Bearer", expires_in: 86400, scope: "create:organizations" } };
    }
    if (form.get("grant_type") !== "authorization_code") return { status: 400, body: { error: "unsupported_grant_type" } };
    const grant = codes.get(form.get("code") ?? "");
    if (!grant || grant.used || form.get("client_id") !== consoleClientId || form.get("redirect_uri") !== grant.redirectUri)
      return { status: 403, body: { error: "invalid_grant", error_description: "Invalid authorization code" } };
    grant.used = true;
    if (
      createHash("sha256")
        .update(form.get("code_verifier") ?? "")
        .digest("base64url") !== grant.challenge
    )
      return { status: 403, body: { error: "invalid_grant", error_description: "Failed PKCE verification" } };
    const now = Math.floor(Date.now() / 1000);
    const { user } = grant;
    const profile = { email: user.email, email_verified: user.emailVerified, ...(user.name ? { name: user.name } : {}) };
    const org = grant.orgId ? { org_id: grant.orgId } : {};
    return {
      status: 200,
      body: {
        access_token: await sign({
          iss: `${base}/`,
          aud: audience,
          sub: user.sub,
          iat: now,
          exp: now + 3600,
          scope: "openid profile email",
          ...org,
          ...profile,
        }),
        id_token: await sign({
          iss: `${base}/`,
          aud: consoleClientId,
          sub: user.sub,
          iat: now,
          exp: now + 3600,
          nonce: grant.nonce,
          ...org,
          ...profile,
        }),
        token_type: "Bearer",
        expires_in: 3600,
        scope: "openid profile email",
      },
    };
  }

  /** The Management API calls the platform makes; anything else is a 404 as Auth0 answers unknown routes. */
  function managementApi(method: string, path: string, body: Record<string, unknown>): { status: number; body?: unknown } {
    const failing = failures.findIndex((failure) => !failure.path || failure.path.test(path));
    if (failing >= 0) {
      const [{ status }] = failures.splice(failing, 1) as [{ status: number }];
      return { status, body: { statusCode: status, error: "Service Unavailable", message: "try later" } };
    }
    let match: RegExpExecArray | null;
    if (method === "POST" && path === "/api/v2/organizations") {
      const name = String(body.name);
      if (!/^[a-z0-9_-]{1,50}$/.test(name)) return { status: 400, body: { statusCode: 400, message: "Payload validation error: name" } };
      if ([...organizations.values()].some((org) => org.name === name))
        return { status: 409, body: { statusCode: 409, error: "Conflict", message: "An organization with this name already exists." } };
      const org: FakeAuth0Organization = {
        id: `org_${randomBytes(8).toString("hex")}`,
        name,
        ...(typeof body.display_name === "string" ? { displayName: body.display_name } : {}),
        members: new Set(),
        enabledConnections: ((body.enabled_connections as Array<{ connection_id: string }> | undefined) ?? []).map((c) => c.connection_id),
      };
      organizations.set(org.id, org);
      return { status: 201, body: { id: org.id, name: org.name, display_name: org.displayName } };
    }
    if ((match = /^\/api\/v2\/organizations\/([^/]+)$/.exec(path)) && method === "DELETE") {
      organizations.delete(decodeURIComponent(match[1]!));
      return { status: 204 };
    }
    if ((match = /^\/api\/v2\/organizations\/([^/]+)\/members$/.exec(path)) && method === "POST") {
      const org = organizations.get(decodeURIComponent(match[1]!));
      if (!org) return { status: 404, body: { statusCode: 404, message: "No organization found by that id" } };
      for (const member of body.members as string[]) org.members.add(member);
      return { status: 204 };
    }
    if ((match = /^\/api\/v2\/organizations\/([^/]+)\/invitations(?:\/([^/]+))?$/.exec(path))) {
      const orgId = decodeURIComponent(match[1]!);
      if (!organizations.has(orgId)) return { status: 404, body: { statusCode: 404, message: "No organization found by that id" } };
      if (method === "POST" && !match[2]) {
        const invitation: FakeAuth0Invitation = {
          id: `uinv_${randomBytes(8).toString("hex")}`,
          orgId,
          email: String((body.invitee as { email: string }).email),
          inviterName: String((body.inviter as { name: string }).name),
          clientId: String(body.client_id),
          ...(typeof body.ttl_sec === "number" ? { ttlSec: body.ttl_sec } : {}),
        };
        invitations.set(invitation.id, invitation);
        return {
          status: 201,
          body: { id: invitation.id, invitation_url: `${base}/login?invitation=${invitation.id}&organization=${orgId}` },
        };
      }
      if (method === "DELETE" && match[2]) {
        const removed = invitations.delete(decodeURIComponent(match[2]));
        return removed ? { status: 204 } : { status: 404, body: { statusCode: 404, message: "The invitation does not exist" } };
      }
    }
    if ((match = /^\/api\/v2\/users\/([^/]+)$/.exec(path)) && method === "GET") {
      const user = users.get(decodeURIComponent(match[1]!));
      if (!user) return { status: 404, body: { statusCode: 404, message: "The user does not exist." } };
      return { status: 200, body: { user_id: user.sub, email: user.email, email_verified: user.emailVerified, name: user.name } };
    }
    if (method === "POST" && path === "/api/v2/jobs/verification-email") {
      verificationEmails.push(String(body.user_id));
      return { status: 201, body: { id: `job_${randomBytes(6).toString("hex")}`, type: "verification_email", status: "pending" } };
    }
    return { status: 404, body: { statusCode: 404, message: "Not Found" } };
  }

  const cors = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "content-type, auth0-client",
    "access-control-allow-methods": "POST, GET",
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", base);
      if (url.pathname === "/.well-known/jwks.json") {
        fetches++;
        return sendJson(response, 200, { keys: keys.map((key) => key.publicJwk) });
      }
      if (url.pathname === "/authorize" && request.method === "GET") return authorize(url, response);
      if (url.pathname === "/v2/logout") {
        signedIn = undefined;
        const returnTo = url.searchParams.get("returnTo");
        return returnTo ? response.writeHead(302, { location: returnTo }).end() : response.writeHead(200).end("signed out");
      }
      if (url.pathname === "/oauth/token") {
        if (request.method === "OPTIONS") return response.writeHead(204, cors).end();
        const raw = await readBody(request);
        const form = /json/.test(request.headers["content-type"] ?? "")
          ? new URLSearchParams(Object.entries(JSON.parse(raw) as Record<string, string>))
          : new URLSearchParams(raw);
        const answer = await token(form);
        return sendJson(response, answer.status, answer.body, cors);
      }
      if (url.pathname.startsWith("/api/v2/")) {
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
        if (!bearer || !managementTokens.has(bearer)) return sendJson(response, 401, { statusCode: 401, message: "Invalid token" });
        const raw = await readBody(request);
        const answer = managementApi(request.method ?? "GET", url.pathname, raw ? (JSON.parse(raw) as Record<string, unknown>) : {});
        if (answer.body === undefined) return response.writeHead(answer.status).end();
        return sendJson(response, answer.status, answer.body);
      }
      response.writeHead(404).end();
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/`;

  return {
    baseUrl: base,
    consoleClientId,
    management,
    signInAs(user) {
      users.set(user.sub, user);
      signedIn = user;
    },
    verifyEmail(sub) {
      const user = users.get(sub);
      if (user) user.emailVerified = true;
    },
    organizations,
    invitations,
    verificationEmails,
    authorizeRequests,
    failManagement(status, failure = {}) {
      for (let i = 0; i < (failure.count ?? 1); i++) failures.push({ status, ...(failure.path ? { path: failure.path } : {}) });
    },
    issuer,
    jwksUrl: `${base}/.well-known/jwks.json`,
    audience,
    jwksFetches: () => fetches,
    async mint(mint = {}) {
      const key = mint.key ?? current();
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        iss: issuer,
        aud: audience,
        iat: now,
        exp: now + (mint.expiresIn ?? 300),
        sub: "auth0|someone",
        ...mint.claims,
      };
      for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
      return new SignJWT(claims as JWTPayload)
        .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid, ...mint.header })
        .sign(key.pair.privateKey);
    },
    async rotate() {
      keys.push(await newKey());
      return current().kid;
    },
    publicKeyPem: () => exportSPKI(current().pair.publicKey),
    strangerKey: newKey,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback server that only counts requests: where a forged `jku`/`x5u` points. */
export async function startRequestCounter(): Promise<{ url: string; requests(): number; close(): Promise<void> }> {
  let count = 0;
  const server = createServer((_request, response) => {
    count++;
    response.writeHead(200, { "content-type": "application/json" }).end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Hand-made compact JWS pieces for tokens jose would refuse to produce (alg none, tampering). */
export function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
