import type { MiddlewareHandler } from "hono";
import { originAllowedByAnyTenant } from "../../../core/access/principal";
import type { AppEnv } from "../context";

export interface TenantCorsOptions {
  /** How long a browser may cache a preflight answer. Default 600 s. */
  maxAgeSeconds?: number;
  allowMethods?: string[];
  allowHeaders?: string[];
}

/**
 * CORS by tenant: each tenant lists its origins (e.g. a Bubble.io app's domain) in its settings.
 * A preflight carries no credentials, so it is answered for an origin that some tenant allows; the
 * real response then carries `Access-Control-Allow-Origin` only when the caller's own tenant allows
 * that origin, so a browser never hands one tenant's answers to another tenant's site.
 * Mount after `database()` and before `authenticate()`.
 */
export function tenantCors(options: TenantCorsOptions = {}): MiddlewareHandler<AppEnv> {
  const maxAge = options.maxAgeSeconds ?? 600;
  if (!Number.isInteger(maxAge) || maxAge < 0) throw new Error("tenantCors(): maxAgeSeconds must be a non-negative integer");
  const methods = (options.allowMethods ?? ["GET", "POST", "PATCH", "PUT", "DELETE"]).join(", ");
  const headers = (options.allowHeaders ?? ["authorization", "content-type", "x-request-id"]).join(", ");

  return async function tenantCors(c, next) {
    const origin = c.req.header("origin");
    if (!origin) return next();
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      const allowed = origin.length <= 255 && (await originAllowedByAnyTenant(c.get("db")!, origin));
      const response = c.body(null, 204);
      response.headers.set("vary", "Origin");
      if (allowed) {
        response.headers.set("access-control-allow-origin", origin);
        response.headers.set("access-control-allow-methods", methods);
        response.headers.set("access-control-allow-headers", headers);
        response.headers.set("access-control-max-age", String(maxAge));
      }
      return response;
    }
    await next();
    c.res.headers.append("vary", "Origin");
    if (c.get("principal")?.allowedOrigins.includes(origin)) {
      c.res.headers.set("access-control-allow-origin", origin);
      c.res.headers.set("access-control-expose-headers", "x-request-id");
    }
  };
}
