import type { MiddlewareHandler } from "hono";
import { looksLikeApiKey } from "../../../core/access/api-key-format";
import { InvalidTokenError } from "../../../core/access/auth0";
import type { Principal } from "../../../core/access/context";
import { principalFromApiKey, principalFromAuth0, principalFromSession } from "../../../core/access/principal";
import { verifySession } from "../../../core/access/sign-in";
import type { AppEnv } from "../context";
import type { Logger } from "../../../core/observability/log";
import { unauthorized } from "../errors";

/** What {@link authenticate} puts on the context. */
export interface AuthVariables {
  /** The caller: tenant, actor, role and permissions. */
  principal: Principal;
}

export interface AuthenticateOptions {
  /** Longer bearer values are refused unread (Auth0 access tokens are 1–2 KB). Default 8 KiB. */
  maxTokenLength?: number;
}

/**
 * Who is calling: `Authorization: Bearer <API key | Auth0 access token | console session>`. API
 * keys (`ak_…`) are matched by hash; anything else must be an Auth0 access token whose organisation
 * maps to a tenant the user belongs to, or, where Auth0 is not configured and LOCAL_SIGN_IN=on, a
 * console session token (core/access/sign-in.ts). Every failure is a 401 with a `WWW-Authenticate`
 * challenge.
 *
 * A token that verifies but whose user was removed from the tenant also gets a 401, not a 403:
 * the token no longer names anyone this tenant knows, and a 401 tells the client to sign in again
 * rather than suggesting the account still has some access there.
 */
export function authenticate(options: AuthenticateOptions = {}): MiddlewareHandler<AppEnv> {
  const maxTokenLength = options.maxTokenLength ?? 8192;
  if (!Number.isInteger(maxTokenLength) || maxTokenLength < 256)
    throw new Error("authenticate(): maxTokenLength must be an integer of at least 256");

  return async function authenticate(c, next) {
    const token = bearerToken(c.req.header("authorization"), maxTokenLength);
    const db = c.get("db")!;
    const logger = c.get("logger");

    let principal: Principal | undefined;
    if (looksLikeApiKey(token)) {
      principal = await principalFromApiKey(db, token);
      if (!principal) {
        logger.log("info", "auth.rejected", { method: "api_key", reason: "unknown_or_revoked" });
        throw unauthorized("The API key is unknown or revoked.");
      }
    } else if (c.get("services").config.LOCAL_SIGN_IN === "on") {
      const session = await refusedAs(logger, "session", () => verifySession(c.get("services").config.WEBHOOK_SIGNING_KEY, token));
      principal = await principalFromSession(db, session);
      if (!principal) {
        logger.log("info", "auth.rejected", { method: "session", reason: "not_a_member" });
        throw unauthorized("This account has no access to the tenant any more.");
      }
    } else {
      const verify = c.get("services").auth0;
      if (!verify) throw unauthorized("Auth0 sign-in is not configured on this server; use an API key.");
      const verified = await refusedAs(logger, "auth0", () => verify(token));
      const member = await principalFromAuth0(db, verified);
      if (!member) {
        logger.log("info", "auth.rejected", { method: "auth0", reason: "not_a_member", org: verified.orgId });
        throw unauthorized("This account has no access to the organisation's tenant.");
      }
      if (member.joined) logger.log("info", "auth.invitation_accepted", { tenantId: member.tenantId, userId: member.actor.id });
      principal = member;
    }
    c.set("principal", principal);
    c.set("logger", logger.child({ tenantId: principal.tenantId, actor: `${principal.actor.type}:${principal.actor.id}` }));
    await next();
  };
}

/** The token of `Authorization: Bearer <token>`; a 401 with a challenge for a missing or malformed header, or a token over `maxLength`. */
export function bearerToken(header: string | undefined, maxLength = 8192): string {
  if (!header) throw unauthorized();
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match || match[1]!.length > maxLength) throw unauthorized("The Authorization header must be `Bearer <token>`.");
  return match[1]!;
}

/**
 * Runs a token check: a token it refuses (`InvalidTokenError`) is logged as `auth.rejected` and
 * answered 401 with the reason; anything else (the signing keys unreachable) propagates.
 */
export async function refusedAs<T>(logger: Logger, method: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      logger.log("info", "auth.rejected", { method, reason: error.message });
      throw unauthorized(error.message);
    }
    throw error;
  }
}
