import { sql } from "drizzle-orm";
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import type { Database, Transaction } from "../../db/client";
import { signInLinks } from "../../db/schema";
import { deriveSecret, sha256Hex } from "../crypto/hmac";
import { fromBase64, toBase64Url } from "../crypto/encoding";
import { DomainError, sqlState } from "../errors";
import { InvalidTokenError } from "./auth0";
import { BUILTIN_ROLE_PERMISSIONS } from "./permissions";
import { callAsApp } from "./principal";

/**
 * Console sign-in where Auth0 is not configured (the local stack): a one-time link, redeemed for a
 * short-lived console session token, plus self-service sign-up that makes a tenant and its admin.
 *
 * - A link's token is 32 random bytes (`sl_…`); only its SHA-256 is stored, it works once, and it
 *   expires ({@link SIGN_IN_LINK_TTL_MS}). It travels in the URL fragment, so no server logs it.
 * - A session token is an HS256 JWT under a key derived from WEBHOOK_SIGNING_KEY, naming tenant and
 *   user; every request still looks the membership up (`auth_user`), so removing the user ends
 *   their session at once. The console keeps it in memory only.
 */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;
export const SESSION_TTL_SECONDS = 8 * 3600;
const SESSION_ISSUER = "agent-platform/console";
const LINK_PREFIX = "sl_";

/** A new one-time link for a member of the transaction's tenant. */
export async function createSignInLink(
  tx: Transaction,
  input: { tenantId: string; userId: string; ttlMs?: number },
): Promise<{ token: string; expiresAt: Date }> {
  const token = `${LINK_PREFIX}${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
  const expiresAt = new Date(Date.now() + (input.ttlMs ?? SIGN_IN_LINK_TTL_MS));
  await tx.insert(signInLinks).values({ tenantId: input.tenantId, userId: input.userId, tokenHash: await sha256Hex(token), expiresAt });
  return { token, expiresAt };
}

/** The console URL that signs in with `token` (in the fragment: never sent to a server, never logged). */
export function signInUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/+$/, "")}/console/#/sign-in?token=${encodeURIComponent(token)}`;
}

/** The link's tenant and user, once; undefined for an unknown, used or expired link. */
export async function redeemSignInLink(db: Database, token: string): Promise<{ tenantId: string; userId: string } | undefined> {
  if (!token.startsWith(LINK_PREFIX) || token.length > 128) return undefined;
  const row = await callAsApp<{ tenant_id: string; user_id: string }>(
    db,
    sql`select * from auth_redeem_sign_in_link(${await sha256Hex(token)})`,
  );
  return row ? { tenantId: row.tenant_id, userId: row.user_id } : undefined;
}

async function sessionKey(signingKey: string): Promise<Uint8Array> {
  return fromBase64(await deriveSecret(signingKey, "console-session", "jwt-hs256"));
}

export interface ConsoleSession {
  accessToken: string;
  expiresAt: Date;
}

/** A console session token for a member (after a link was redeemed). */
export async function signSession(
  signingKey: string,
  member: { tenantId: string; userId: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<ConsoleSession> {
  const exp = nowSeconds + SESSION_TTL_SECONDS;
  const accessToken = await new SignJWT({ tid: member.tenantId })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(SESSION_ISSUER)
    .setAudience("console")
    .setSubject(member.userId)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(exp)
    .sign(await sessionKey(signingKey));
  return { accessToken, expiresAt: new Date(exp * 1000) };
}

/** The session's tenant and user; {@link InvalidTokenError} for anything not signed here, expired or malformed. */
export async function verifySession(signingKey: string, token: string): Promise<{ tenantId: string; userId: string }> {
  try {
    const { payload } = await jwtVerify(token, await sessionKey(signingKey), {
      algorithms: ["HS256"],
      issuer: SESSION_ISSUER,
      audience: "console",
      requiredClaims: ["exp", "sub"],
    });
    const parsed = z.object({ tid: z.uuid(), sub: z.uuid() }).safeParse(payload);
    if (!parsed.success) throw new InvalidTokenError("The session token is malformed.");
    return { tenantId: parsed.data.tid, userId: parsed.data.sub };
  } catch (error) {
    if (error instanceof InvalidTokenError) throw error;
    const code = (error as { code?: string }).code;
    throw new InvalidTokenError(code === "ERR_JWT_EXPIRED" ? "The session has expired; sign in again." : "The session token is invalid.");
  }
}

export const signUpInput = z
  .object({
    tenantName: z.string().trim().min(2).max(80),
    /** Required without Auth0; with Auth0 the email is the Auth0 user's. */
    email: z.email().max(254).optional(),
    name: z.string().trim().min(1).max(120).optional(),
  })
  .strict();
export type SignUpInput = z.infer<typeof signUpInput>;

/** `"Acme Shoes, S.L."` → `acme-shoes-s-l` (letters and digits, accents dropped). */
export function slugOf(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return slug || "tenant";
}

/**
 * Self-service sign-up: a tenant with the built-in roles and the user as its admin, audited, in one
 * transaction (`auth_sign_up`). The slug is the name's, with a short random suffix when taken.
 * `subject` is the identity provider's (`local|<uuid>` without Auth0).
 */
export async function signUp(
  db: Database,
  input: SignUpInput & { email: string; subject: string; auth0OrgId?: string },
): Promise<{ tenantId: string; userId: string; slug: string }> {
  const base = slugOf(input.tenantName);
  for (let attempt = 0; attempt < 4; attempt++) {
    const slug =
      attempt === 0
        ? base
        : `${base}-${toBase64Url(crypto.getRandomValues(new Uint8Array(3)))
            .toLowerCase()
            .replace(/[^a-z0-9]/g, "x")}`;
    try {
      const row = await callAsApp<{ tenant_id: string; user_id: string }>(
        db,
        sql`select * from auth_sign_up(${input.tenantName}, ${slug}, ${input.auth0OrgId ?? null}, ${input.subject}, ${input.email}, ${input.name ?? null}, ${JSON.stringify(BUILTIN_ROLE_PERMISSIONS)}::jsonb)`,
      );
      if (!row) throw new Error("auth_sign_up returned no row");
      return { tenantId: row.tenant_id, userId: row.user_id, slug };
    } catch (error) {
      if (sqlState(error) !== "23505") throw error; // the slug (or organisation) is taken: try another slug
    }
  }
  throw new DomainError("SLUG_TAKEN", 409, "Choose another name for the tenant.");
}
