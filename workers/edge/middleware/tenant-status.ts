import type { MiddlewareHandler } from "hono";
import { tenantDeletionOf } from "../../../core/tenants/deletion";
import { DomainError } from "../../../core/errors";
import type { AppEnv } from "../context";

/** What a stopped tenant may still do: read itself, restore itself, and see who is signed in. */
const STILL_ALLOWED = [
  { method: "GET", path: /^\/v1\/tenant\/?$/ },
  { method: "POST", path: /^\/v1\/tenant\/restore\/?$/ },
  { method: "GET", path: /^\/v1\/me\/?$/ },
];

/**
 * After {@link authenticate}: a tenant being deleted (`DELETE /v1/tenant`) is stopped, so every
 * other route answers 403 (`reason: TENANT_DELETED`) with the date it will be purged. One indexed
 * read of the tenant's row per request.
 */
export function tenantNotDeleted(): MiddlewareHandler<AppEnv> {
  return async function tenantNotDeleted(c, next) {
    const principal = c.get("principal");
    const path = new URL(c.req.url).pathname;
    if (principal && !STILL_ALLOWED.some((allowed) => allowed.method === c.req.method && allowed.path.test(path))) {
      const deletion = await tenantDeletionOf(c.get("db")!, principal.tenantId);
      if (deletion) {
        throw new DomainError(
          "TENANT_DELETED",
          403,
          `This tenant is being deleted and will be purged after ${deletion.purgeAfter}; an admin can restore it with POST /v1/tenant/restore.`,
          deletion,
        );
      }
    }
    await next();
  };
}
