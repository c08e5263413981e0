import type { MiddlewareHandler } from "hono";
import { isPermission, type Permission, PermissionDeniedError } from "../../../core/access/permissions";
import type { AppEnv } from "../context";

/**
 * Refuses a route before its input is even validated when the caller's role lacks `permission`,
 * so a viewer learns nothing from validation errors on a write. The verb checks again as its first
 * line (verbs are called from places other than HTTP too).
 */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  if (!isPermission(permission)) throw new Error(`requirePermission(): unknown permission ${String(permission)}`);
  return async function requirePermission(c, next) {
    const principal = c.get("principal");
    if (!principal?.permissions.has(permission)) throw new PermissionDeniedError(permission);
    await next();
  };
}
