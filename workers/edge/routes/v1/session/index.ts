import { createRoute, OpenAPIHono, z, type RouteHandler } from "@hono/zod-openapi";
import { principalFromSession } from "../../../../../core/access/principal";
import {
  createSignInLink,
  redeemSignInLink,
  signInUrl,
  signSession,
  signUp,
  signUpInput,
  slugOf,
} from "../../../../../core/access/sign-in";
import { acceptInvitation } from "../../../../../core/access/invitations";
import { DomainError } from "../../../../../core/errors";
import { describeError } from "../../../../../core/observability/log";
import { withTenant } from "../../../../../db/tenant";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";
import { bearerToken, refusedAs } from "../../../middleware/authenticate";
import { errorBody, jsonBody, jsonResponse, validationHook } from "../openapi";
import { publicBaseUrl } from "../run";

const error = (description: string) => jsonResponse(errorBody, description);

const sessionBody = z
  .object({
    accessToken: z.string().openapi({ description: "Send as `Authorization: Bearer <accessToken>`; keep it in memory only" }),
    tokenType: z.literal("Bearer"),
    expiresAt: z.iso.datetime(),
    tenantId: z.uuid(),
    userId: z.uuid(),
  })
  .openapi("ConsoleSession");

export const sessionRoute = createRoute({
  method: "post",
  path: "/session",
  tags: ["Sign-in"],
  operationId: "createConsoleSession",
  summary: "Redeem a one-time sign-in link for a console session (deployments without Auth0)",
  description:
    "The token from a sign-in link (`/console/#/sign-in?token=sl_…`) works once and expires after 15 minutes. " +
    "Only where Auth0 is not configured and `LOCAL_SIGN_IN=on` (the local stack); elsewhere 404.",
  security: [],
  request: {
    body: jsonBody(
      z
        .object({ token: z.string().min(1).max(256) })
        .strict()
        .openapi("RedeemSignInLink"),
    ),
  },
  responses: {
    200: jsonResponse(sessionBody, "A session for the link's user"),
    400: error("Invalid body (`INVALID_BODY`)"),
    401: error("The link is unknown, used or expired (`UNAUTHORIZED`)"),
    404: error("Local sign-in is not enabled here (`NOT_FOUND`)"),
  },
});

export const acceptInvitationRoute = createRoute({
  method: "post",
  path: "/invitation-acceptances",
  tags: ["Sign-in"],
  operationId: "acceptInvitation",
  summary: "Accept an invitation with its one-time link and get a console session (deployments without Auth0)",
  description:
    "The token from the acceptance link (`/console/#/accept?token=inv_…`) that `POST /v1/invitations` answered. It works once, " +
    "until the invitation expires; the invitee becomes a member with the invitation's email and role. With Auth0, invitees " +
    "accept through Auth0's email instead, and this answers 404.",
  security: [],
  request: {
    body: jsonBody(
      z
        .object({ token: z.string().min(1).max(256), name: z.string().trim().min(1).max(120) })
        .strict()
        .openapi("AcceptInvitation"),
    ),
  },
  responses: {
    200: jsonResponse(sessionBody, "A session for the new member"),
    400: error("Invalid body (`INVALID_BODY`)"),
    401: error("The link is unknown, used or expired (`UNAUTHORIZED`)"),
    404: error("Local sign-in is not enabled here (`NOT_FOUND`)"),
  },
});

export const signUpRoute = createRoute({
  method: "post",
  path: "/signup",
  tags: ["Sign-in"],
  operationId: "signUp",
  summary: "Create a tenant with the caller as its admin",
  description:
    "Self-service sign-up. **With Auth0:** send the Auth0 access token of a signed-in user who has no organisation yet as " +
    "`Authorization: Bearer`; the user's email must be verified (Auth0 is asked afresh, and sends a new verification email " +
    "when it is not: `FORBIDDEN`, reason `EMAIL_NOT_VERIFIED`). The platform creates the Auth0 Organization, makes the user " +
    "its member and the tenant's admin; sign in again with `organization` set to `organizationId`. **Without Auth0** " +
    "(`LOCAL_SIGN_IN=on`): `email` is required and the answer carries a one-time sign-in link. Elsewhere 404.",
  security: [{ bearerAuth: [] }, {}] as Array<Record<string, string[]>>,
  request: { body: jsonBody(signUpInput.openapi("SignUp")) },
  responses: {
    201: jsonResponse(
      z
        .object({
          tenantId: z.uuid(),
          userId: z.uuid(),
          slug: z.string(),
          organizationId: z.string().optional().openapi({ description: "The new Auth0 Organization (with Auth0)" }),
          signInUrl: z.url().optional().openapi({ description: "A one-time sign-in link (without Auth0)" }),
          signInToken: z.string().optional(),
        })
        .openapi("SignedUp"),
      "The tenant and its admin",
    ),
    400: error("Invalid body (`INVALID_BODY`)"),
    401: error("With Auth0: no valid access token (`UNAUTHORIZED`)"),
    403: error("With Auth0: the email is not verified yet (`FORBIDDEN`, reason `EMAIL_NOT_VERIFIED`)"),
    404: error("Sign-up is not enabled here (`NOT_FOUND`)"),
    409: error("No free slug for that name (`CONFLICT`, reason `SLUG_TAKEN`)"),
    503: error("Auth0 is not answering (`AUTH0_UNAVAILABLE`)"),
  },
});

export const signInConfigRoute = createRoute({
  method: "get",
  path: "/sign-in-config",
  tags: ["Sign-in"],
  operationId: "getSignInConfig",
  summary: "How the console signs in on this deployment",
  description:
    "`auth0`: Universal Login with the console's application (PKCE), then the access token as bearer; `signUp` says whether " +
    "self-service sign-up is open. `local`: one-time sign-in links and the sign-up form. `api_key`: neither; API keys only.",
  security: [],
  responses: {
    200: jsonResponse(
      z
        .object({
          method: z.enum(["auth0", "local", "api_key"]),
          signUp: z.boolean(),
          auth0: z
            .object({ domain: z.string(), clientId: z.string(), audience: z.string(), organizationClaim: z.string() })
            .optional()
            .openapi({ description: "With `method: auth0`: what `@auth0/auth0-spa-js` needs" }),
        })
        .openapi("SignInConfig"),
      "The sign-in method",
    ),
    "4XX": error("A malformed request"),
  },
});

/** `/v1/session` exists only with LOCAL_SIGN_IN=on; its answers (tokens) are never cached. */
export const localSignInOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get("services").config.LOCAL_SIGN_IN !== "on") throw new ApiError(404, "NOT_FOUND", "Sign in through Auth0 here.");
  await next();
  c.header("cache-control", "no-store");
};

/** `/v1/signup` exists with LOCAL_SIGN_IN=on, or with Auth0 and its Management API configured. */
export const signUpEnabled: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { config, auth0Management } = c.get("services");
  if (config.LOCAL_SIGN_IN !== "on" && !auth0Management) throw new ApiError(404, "NOT_FOUND", "Self-service sign-up is not open here.");
  await next();
  c.header("cache-control", "no-store");
};

const sessionHandler: RouteHandler<typeof sessionRoute, AppEnv> = async (c) => {
  const db = c.get("db")!;
  const member = await redeemSignInLink(db, c.req.valid("json").token);
  // The membership is checked too: a link for a user removed since does not sign in.
  if (!member || !(await principalFromSession(db, member))) {
    c.get("logger").log("info", "auth.rejected", { method: "sign_in_link", reason: "unknown_used_or_expired" });
    throw new ApiError(401, "UNAUTHORIZED", "This sign-in link is unknown, already used or expired; ask for a new one.");
  }
  c.get("logger").log("info", "auth.signed_in", { method: "sign_in_link", tenantId: member.tenantId, userId: member.userId });
  return c.json(await sessionFor(c, member), 200);
};

/** A console session for a member, as both routes answer it. */
async function sessionFor(c: Context<AppEnv>, member: { tenantId: string; userId: string }) {
  const session = await signSession(c.get("services").config.WEBHOOK_SIGNING_KEY, member);
  return { accessToken: session.accessToken, tokenType: "Bearer" as const, expiresAt: session.expiresAt.toISOString(), ...member };
}

const acceptInvitationHandler: RouteHandler<typeof acceptInvitationRoute, AppEnv> = async (c) => {
  const member = await acceptInvitation(c.get("db")!, c.req.valid("json"));
  if (!member) {
    c.get("logger").log("info", "auth.rejected", { method: "invitation_link", reason: "unknown_used_or_expired" });
    throw new ApiError(401, "UNAUTHORIZED", "This invitation link is unknown, already used or expired; ask for a new invitation.");
  }
  c.get("logger").log("info", "auth.invitation_accepted", { method: "invitation_link", ...member });
  return c.json(await sessionFor(c, member), 200);
};

const signUpHandler: RouteHandler<typeof signUpRoute, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  if (c.get("services").config.LOCAL_SIGN_IN === "on") {
    const db = c.get("db")!;
    if (!input.email) throw new ApiError(400, "INVALID_BODY", "The request's body is invalid.", [{ path: "email", message: "Required" }]);
    const created = await signUp(db, { ...input, email: input.email, subject: `local|${crypto.randomUUID()}` });
    const link = await withTenant(db, created.tenantId, (tx) => createSignInLink(tx, created));
    c.get("logger").log("info", "tenant.signed_up", { tenantId: created.tenantId, userId: created.userId });
    return c.json({ ...created, signInUrl: signInUrl(publicBaseUrl(c), link.token), signInToken: link.token }, 201);
  }
  return c.json(await signUpWithAuth0(c, input.tenantName), 201);
};

/**
 * Sign-up for a user Auth0 has authenticated but who belongs to no tenant: the email must be
 * verified (asked of Auth0 now, not read from a token that may predate the verification), then the
 * organisation, the membership and the tenant are made in that order; if a later step fails, the
 * organisation is deleted again so a retry starts clean.
 */
async function signUpWithAuth0(c: Context<AppEnv>, tenantName: string) {
  const { auth0, auth0Management } = c.get("services");
  const logger = c.get("logger");
  if (!auth0 || !auth0Management) throw new ApiError(404, "NOT_FOUND", "Self-service sign-up is not open here.");
  const token = bearerToken(c.req.header("authorization"));
  const user = await refusedAs(logger, "auth0", () => auth0(token, { organization: "optional" }));
  const profile = await auth0Management.getUser(user.subject);
  if (!profile.emailVerified || !profile.email) {
    await auth0Management.sendVerificationEmail(user.subject);
    logger.log("info", "tenant.sign_up_refused", { reason: "email_not_verified" });
    throw new DomainError(
      "EMAIL_NOT_VERIFIED",
      403,
      "Verify your email address first: we have sent you a new verification link. Then sign in again and sign up.",
    );
  }
  const org = await auth0Management.createOrganization({ name: slugOf(tenantName), displayName: tenantName });
  try {
    await auth0Management.addMember(org.id, user.subject);
    const created = await signUp(c.get("db")!, {
      tenantName,
      email: profile.email,
      ...(profile.name ? { name: profile.name } : {}),
      subject: user.subject,
      auth0OrgId: org.id,
    });
    logger.log("info", "tenant.signed_up", { tenantId: created.tenantId, userId: created.userId, organizationId: org.id });
    return { ...created, organizationId: org.id };
  } catch (error) {
    await auth0Management.deleteOrganization(org.id).catch((cleanup: unknown) => {
      logger.log("error", "tenant.sign_up_cleanup_failed", { organizationId: org.id, ...describeError(cleanup) });
    });
    throw error;
  }
}

const signInConfigHandler: RouteHandler<typeof signInConfigRoute, AppEnv> = (c) => {
  const { config, auth0Management } = c.get("services");
  c.header("cache-control", "no-store");
  if (config.AUTH0_ISSUER && config.AUTH0_AUDIENCE && config.AUTH0_CONSOLE_CLIENT_ID) {
    return c.json(
      {
        method: "auth0" as const,
        signUp: Boolean(auth0Management),
        auth0: {
          domain: new URL(config.AUTH0_ISSUER).origin,
          clientId: config.AUTH0_CONSOLE_CLIENT_ID,
          audience: config.AUTH0_AUDIENCE,
          organizationClaim: config.AUTH0_ORG_CLAIM,
        },
      },
      200,
    );
  }
  const local = config.LOCAL_SIGN_IN === "on";
  return c.json({ method: local ? ("local" as const) : ("api_key" as const), signUp: local }, 200);
};

/** `/v1/session` and `/v1/signup`: public (no bearer token yet), mounted before authentication. */
export const sessionApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(sessionRoute, sessionHandler)
  .openapi(acceptInvitationRoute, acceptInvitationHandler)
  .openapi(signUpRoute, signUpHandler)
  .openapi(signInConfigRoute, signInConfigHandler);
