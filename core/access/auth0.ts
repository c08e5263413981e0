import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";

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

export type Auth0Verifier = (token: string) => Promise<VerifiedAuth0Token>;

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
  const keys = createRemoteJWKSet(jwksUrl, {
    cooldownDuration: (options.jwksCooldownSeconds ?? 30) * 1000,
    cacheMaxAge: (options.jwksMaxAgeSeconds ?? 600) * 1000,
    timeoutDuration: 5_000,
  });

  return async function verifyAuth0Token(token) {
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
    if (typeof orgId !== "string" || !orgId)
      throw new InvalidTokenError(`The token has no ${orgClaim} claim (sign in through an Auth0 Organization).`);
    const email = payload[emailClaim];
    const name = payload.name;
    return {
      subject: payload.sub!,
      orgId,
      ...(typeof email === "string" ? { email } : {}),
      emailVerified: payload[`${emailClaim}_verified`] === true,
      ...(typeof name === "string" ? { name } : {}),
    };
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
