import { sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { hashApiKey, parseApiKey } from "./api-key-format";
import type { VerifiedAuth0Token } from "./auth0";
import type { Principal } from "./context";
import { effectivePermissions } from "./permissions";

type RoleRow = {
  tenant_id: string;
  role_id: string;
  role_name: string;
  role_builtin: boolean;
  role_permissions: unknown;
  allowed_origins: unknown;
};

/**
 * These lookups run before the tenant is known, so they cannot run under row-level security as
 * `agent_app`: they call the SECURITY DEFINER functions of migration
 * 0003_access_rls_and_auth_functions (each one lookup, EXECUTE granted to agent_app only). They run
 * in a transaction as agent_app so that, on PGlite (one superuser session), the grant is still
 * what allows them, and so their statements never interleave with another connection's.
 */
export async function callAsApp<T extends Record<string, unknown>>(db: Database, query: ReturnType<typeof sql>): Promise<T | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local role agent_app`);
    const result = await tx.execute<T>(query);
    return result.rows[0] as T | undefined;
  });
}

function toPrincipal(row: RoleRow, actor: Principal["actor"]): Principal {
  return {
    tenantId: row.tenant_id,
    actor,
    role: { id: row.role_id, name: row.role_name },
    permissions: effectivePermissions({ name: row.role_name, builtin: row.role_builtin, permissions: row.role_permissions }),
    allowedOrigins: Array.isArray(row.allowed_origins) ? row.allowed_origins.filter((o): o is string => typeof o === "string") : [],
  };
}

/** An API key → its tenant and role; undefined for a malformed, unknown or revoked key. */
export async function principalFromApiKey(db: Database, presented: string): Promise<Principal | undefined> {
  const parsed = parseApiKey(presented);
  if (!parsed) return undefined;
  const hash = await hashApiKey(parsed.key);
  const row = await callAsApp<RoleRow & { api_key_id: string }>(db, sql`select * from auth_api_key(${parsed.publicId}, ${hash})`);
  return row ? toPrincipal(row, { type: "api_key", id: row.api_key_id }) : undefined;
}

/**
 * A verified Auth0 token → tenant (by organisation), user (by `sub`) and role. Undefined when the
 * organisation maps to no tenant, or the user is not a member and holds no pending invitation for
 * their verified email. A first sign-in with an invitation creates the user and membership.
 */
export async function principalFromAuth0(db: Database, token: VerifiedAuth0Token): Promise<(Principal & { joined: boolean }) | undefined> {
  const row = await callAsApp<RoleRow & { user_id: string; joined: boolean }>(
    db,
    sql`select * from auth_member(${token.orgId}, ${token.subject}, ${token.email ?? null}, ${token.emailVerified}, ${token.name ?? null})`,
  );
  if (!row) return undefined;
  return { ...toPrincipal(row, { type: "user", id: row.user_id, userId: row.user_id }), joined: row.joined };
}

/** A console session's tenant and user → their role; undefined once the user is no longer a member. */
export async function principalFromSession(db: Database, session: { tenantId: string; userId: string }): Promise<Principal | undefined> {
  const row = await callAsApp<RoleRow & { user_id: string }>(db, sql`select * from auth_user(${session.tenantId}, ${session.userId})`);
  return row ? toPrincipal(row, { type: "user", id: row.user_id, userId: row.user_id }) : undefined;
}

/** Whether any tenant allows `origin` (CORS preflights carry no credentials). */
export async function originAllowedByAnyTenant(db: Database, origin: string): Promise<boolean> {
  const row = await callAsApp<{ allowed: boolean }>(db, sql`select auth_origin_allowed(${origin}) as allowed`);
  return row?.allowed === true;
}
