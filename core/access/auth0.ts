import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";

export interface Auth0VerifierOptions {
  /** `https://<tenant>.auth0.com/` exactly as Auth0 writes `iss` (with the trailing slash). */
  issuer: string;
  /** The API identifier tokens must be issued for. */
  audience: string;
  /** Defaults to `<issuer>.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Claim holding the Auth0 Organization id. Default `org_id`. */
  orgClaim?: string;
  /** Claim holding the user's email (Auth0 Actions add it to access tokens); `<claim>_verified` beside it. */
  emailClaim?: string;
  /** Leeway for exp/nbf/iat. Default 10 s. */
  clockToleranceSeconds?: number;
  /**
   * Minimum time between two JWKS fetches. A token with an unknown `kid` makes jose refetch the
   * set (that is how a rotated-in key is picked up), but never more often than this, so a flood of
   * tokens with made-up key ids cannot turn into a flood of requests to Auth0. Default 30 s.
   */
  jwksCooldownSeconds?: number;
  /** How long a fetched JWKS is trusted before it is refreshed anyway. Default 10 min. */
  jwksMaxAgeSeconds?: number;
  /** Milliseconds since the epoch; tests move it to cross the cool-down. */
  clock?: () => number;
}

/** What a verified Auth0 access token says about its bearer. */
export interface VerifiedAuth0Token {
  subject: string;
  orgId: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
}

/** Why a token was refused; the message is safe to return to the caller. */
export class InvalidTokenError extends Error {
  readonly code = "INVALID_TOKEN";
}

/** The key set could not be fetched: our problem (or Auth0's), not the caller's token. */
export class TokenVerificationUnavailableError extends Error {
  readonly code = "AUTH_UNAVAILABLE";
}

/** A verified token of a user who has not joined an organisation yet (self-service sign-up). */
export type VerifiedAuth0User = Omit<VerifiedAuth0Token, "orgId"> & { orgId?: string };

/** Verifies a token; with `{ organization: "optional" }` a token without the organisation claim passes too. */
export interface Auth0Verifier {
  (token: string): Promise<VerifiedAuth0Token>;
  (token: string, options: { organization: "optional" }): Promise<VerifiedAuth0User>;
}

/**
 * Verifies Auth0 access tokens: RS256 only (so `alg: none` and HS256-signed-with-the-public-key
 * are refused before any key is used), issuer and audience checked, exp/nbf with a small leeway,
 * keys only from the configured JWKS URL (a token's `jku`, `x5u` or embedded `jwk` headers are
 * ignored: jose never follows them). Create one per isolate: the key set is cached inside.
 *
 * @example
 * const verify = createAuth0Verifier({ issuer: "https://acme.eu.auth0.com/", audience: "https://api.example.com" });
 * const { subject, orgId } = await verify(bearerToken);
 */
export function createAuth0Verifier(options: Auth0VerifierOptions): Auth0Verifier {
  const issuer = new URL(options.issuer).toString();
  if (!options.audience) throw new Error("createAuth0Verifier: audience is required");
  const jwksUrl = new URL(options.jwksUrl ?? new URL(".well-known/jwks.json", issuer.endsWith("/") ? issuer : `${issuer}/`).toString());
  const orgClaim = options.orgClaim ?? "org_id";
  const emailClaim = options.emailClaim ?? "email";
  const keys = singleFlightKeySet(jwksUrl, {
    cooldownMs: (options.jwksCooldownSeconds ?? 30) * 1000,
    maxAgeMs: (options.jwksMaxAgeSeconds ?? 600) * 1000,
    timeoutMs: 5_000,
    clock: options.clock ?? Date.now,
  });

  async function verifyAuth0Token(token: string, verifyOptions?: { organization: "optional" }): Promise<VerifiedAuth0User> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: ["RS256"],
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceSeconds ?? 10,
        requiredClaims: ["sub", "exp"],
      }));
    } catch (error) {
      // Network failures are not JOSE errors; a bad HTTP answer from the JWKS URL is the bare base class.
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError) || error.constructor === errors.JOSEError) {
        throw new TokenVerificationUnavailableError("The signing keys could not be fetched.", { cause: error });
      }
      throw new InvalidTokenError(describeJoseError(error), { cause: error });
    }
    const orgId = payload[orgClaim];
    const hasOrg = typeof orgId === "string" && orgId !== "";
    if (!hasOrg && verifyOptions?.organization !== "optional")
      throw new InvalidTokenError(`The token has no ${orgClaim} claim (sign in through an Auth0 Organization).`);
    const email = payload[emailClaim];
    const name = payload.name;
    return {
      subject: payload.sub!,
      ...(hasOrg ? { orgId } : {}),
      ...(typeof email === "string" ? { email } : {}),
      emailVerified: payload[`${emailClaim}_verified`] === true,
      ...(typeof name === "string" ? { name } : {}),
    };
  }
  return verifyAuth0Token as Auth0Verifier;
}

/**
 * The remote key set, fetched by one request at a time per isolate (single flight): every caller
 * that needs the set while a fetch is under way waits for that fetch, and an unknown `kid` refetches
 * only once the cool-down since the last fetch has passed. Hand-written around jose's
 * `createLocalJWKSet` because jose's remote set does not share an in-flight fetch under workerd: a
 * burst of tokens with made-up key ids arriving as the cool-down ends made one request each.
 * A failed fetch counts for the cool-down too, so a broken JWKS endpoint is not hammered either.
 */
function singleFlightKeySet(url: URL, options: { cooldownMs: number; maxAgeMs: number; timeoutMs: number; clock: () => number }) {
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let loadedAt = 0;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;

  const refresh = (): Promise<void> =>
    (inflight ??= (async () => {
      attemptedAt = options.clock();
      try {
        const response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(options.timeoutMs) });
        if (!response.ok) throw new errors.JOSEError(`the JWKS URL answered HTTP ${response.status}`);
        local = createLocalJWKSet((await response.json()) as JSONWebKeySet);
        loadedAt = options.clock();
      } catch (error) {
        // Every failure to get a usable set is "unavailable" (a bare JOSEError), never "bad token".
        throw error instanceof errors.JOSEError && error.constructor !== errors.JOSEError
          ? new errors.JOSEError("the JWKS is not a valid key set")
          : error;
      }
    })().finally(() => (inflight = undefined)));

  const coolingDown = () => options.clock() - attemptedAt < options.cooldownMs;

  return async (
    header: Parameters<ReturnType<typeof createLocalJWKSet>>[0],
    token: Parameters<ReturnType<typeof createLocalJWKSet>>[1],
  ) => {
    if (inflight) await inflight.catch(() => undefined);
    if (!local || options.clock() - loadedAt > options.maxAgeMs) {
      if (!coolingDown()) {
        // A stale set still verifies while the endpoint is down; only a missing one is fatal.
        await refresh().catch((error: unknown) => {
          if (!local) throw error;
        });
      } else if (!local) throw new errors.JOSEError("the signing keys could not be fetched recently; retrying after the cool-down");
    }
    try {
      return await local!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A fetch under way may bring the key: wait for it rather than start another.
      if (inflight) {
        await inflight.catch(() => undefined);
        return local!(header, token);
      }
      if (coolingDown()) throw error;
      // A key rotated in since the last fetch: one refetch, shared by everyone asking now.
      await refresh();
      return local!(header, token);
    }
  };
}

/** A short reason for the `WWW-Authenticate` header; never the token or key material. */
function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "The token has expired.";
  if (error instanceof errors.JWTClaimValidationFailed) return `The token's ${error.claim} claim is not accepted.`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "The token's algorithm is not accepted.";
  if (error instanceof errors.JWKSNoMatchingKey) return "The token was not signed by a known key.";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "The token's signature is invalid.";
  return "The token is malformed or not accepted.";
}
