import { createRoute, OpenAPIHono, z, type RouteHandler } from "@hono/zod-openapi";
import { principalFromSession } from "../../../../../core/access/principal";
import { createSignInLink, redeemSignInLink, signInUrl, signSession, signUp, signUpInput } from "../../../../../core/access/sign-in";
import { withTenant } from "../../../../../db/tenant";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";
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

export const signUpRoute = createRoute({
  method: "post",
  path: "/signup",
  tags: ["Sign-in"],
  operationId: "signUp",
  summary: "Create a tenant and its admin, and get a sign-in link (deployments without Auth0)",
  description:
    "Self-service sign-up where Auth0 is not configured (`LOCAL_SIGN_IN=on`): a tenant with the built-in roles, the user as its admin, " +
    "and a one-time sign-in link. Elsewhere 404.",
  security: [],
  request: { body: jsonBody(signUpInput.openapi("SignUp")) },
  responses: {
    201: jsonResponse(
      z.object({ tenantId: z.uuid(), userId: z.uuid(), slug: z.string(), signInUrl: z.url(), signInToken: z.string() }).openapi("SignedUp"),
      "The tenant, its admin and a one-time sign-in link",
    ),
    400: error("Invalid body (`INVALID_BODY`)"),
    404: error("Local sign-up is not enabled here (`NOT_FOUND`)"),
    409: error("No free slug for that name (`CONFLICT`, reason `SLUG_TAKEN`)"),
  },
});

/** Both routes exist only with LOCAL_SIGN_IN=on; their answers (tokens) are never cached. */
export const localSignInOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get("services").config.LOCAL_SIGN_IN !== "on") throw new ApiError(404, "NOT_FOUND", "Sign in through Auth0 here.");
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
  const session = await signSession(c.get("services").config.WEBHOOK_SIGNING_KEY, member);
  c.get("logger").log("info", "auth.signed_in", { method: "sign_in_link", tenantId: member.tenantId, userId: member.userId });
  return c.json(
    { accessToken: session.accessToken, tokenType: "Bearer" as const, expiresAt: session.expiresAt.toISOString(), ...member },
    200,
  );
};

const signUpHandler: RouteHandler<typeof signUpRoute, AppEnv> = async (c) => {
  const db = c.get("db")!;
  const input = c.req.valid("json");
  const created = await signUp(db, { ...input, subject: `local|${crypto.randomUUID()}` });
  const link = await withTenant(db, created.tenantId, (tx) => createSignInLink(tx, created));
  c.get("logger").log("info", "tenant.signed_up", { tenantId: created.tenantId, userId: created.userId });
  return c.json({ ...created, signInUrl: signInUrl(publicBaseUrl(c), link.token), signInToken: link.token }, 201);
};

/** `/v1/session` and `/v1/signup`: public (no bearer token yet), mounted before authentication. */
export const sessionApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(sessionRoute, sessionHandler)
  .openapi(signUpRoute, signUpHandler);
