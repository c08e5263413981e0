import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

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
  close(): Promise<void>;
}

let keyCounter = 0;

async function newKey(): Promise<SigningKey> {
  const pair = await generateKeyPair("RS256", { extractable: true });
  const kid = `test-key-${++keyCounter}-${Math.random().toString(36).slice(2, 8)}`;
  return { kid, pair, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" } };
}

/**
 * A loopback stand-in for an Auth0 tenant's signing side: `/.well-known/jwks.json` with keys
 * made in the test, and a minting helper for access tokens with any claims or header. Counts JWKS
 * fetches, so tests can show a bad `kid` does not cause a fetch storm and a `jku` is not followed.
 *
 * @example
 * const auth0 = await startFakeAuth0();
 * const token = await auth0.mint({ claims: { sub: "auth0|1", org_id: "org_a" } });
 */
export async function startFakeAuth0(options: { audience?: string } = {}): Promise<FakeAuth0> {
  const keys: SigningKey[] = [await newKey()];
  let fetches = 0;
  const server: Server = createServer((request, response) => {
    if (request.url === "/.well-known/jwks.json") {
      fetches++;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ keys: keys.map((key) => key.publicJwk) }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/`;
  const audience = options.audience ?? "https://api.agent-platform.test";
  const current = () => keys[keys.length - 1]!;

  return {
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
