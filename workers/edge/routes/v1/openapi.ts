import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { Hook } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Permission } from "../../../../core/access/permissions";
import type { AppEnv } from "../../context";
import { errorResponse, type ErrorCode } from "../../errors";
import { requirePermission } from "../../middleware/permission";
import { issueDetails } from "../../../../core/errors";

/** The one error shape, as the OpenAPI document describes it. */
export const errorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: "Stable, machine-readable", example: "NOT_FOUND" }),
      message: z.string(),
      requestId: z.string().optional(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

const errorContent = (description: string) => ({ description, content: { "application/json": { schema: errorBody } } });

/** Answers every admin route can give besides its own. */
export const standardErrors = {
  400: errorContent("Invalid input (`INVALID_BODY`, `INVALID_QUERY`, `INVALID_PARAMS`, `INVALID_JSON`, `INVALID_REQUEST`)"),
  401: errorContent("No credentials, or credentials refused (`UNAUTHORIZED`); see `WWW-Authenticate`"),
  403: errorContent("The caller's role lacks the permission named in `x-permission` (`FORBIDDEN`)"),
  402: errorContent(
    "The tenant's plan does not allow it (`PLAN_LIMIT_REACHED`; details name the `limit` or `module` and the plans in `upgradeTo`)",
  ),
  404: errorContent("No such record in the caller's tenant (`NOT_FOUND`)"),
  409: errorContent("Conflicts with the current state (`CONFLICT`)"),
  500: errorContent("Our fault (`INTERNAL`); the message never shows internals"),
} as const;

const targetCodes: Record<string, ErrorCode> = { json: "INVALID_BODY", query: "INVALID_QUERY", param: "INVALID_PARAMS" };

/** Validation failures in the one error shape, with the first issues as details. */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, c: Context<AppEnv>) => {
  if (result.success) return;
  const details = issueDetails(result.error.issues);
  const code = targetCodes[result.target] ?? "INVALID_REQUEST";
  return errorResponse(c, 400, code, `The request's ${result.target === "json" ? "body" : result.target} is invalid.`, details);
};

/**
 * An admin route: the permission it needs is checked before validation (see
 * middleware/permission.ts) and published as `x-permission`, and the standard error answers and
 * bearer security are added to its OpenAPI entry. Its `operationId` is required: generated clients
 * (the console's, Bubble.io's API Connector) name their calls after it. `permission: null` is for routes any
 * authenticated caller may use (e.g. `GET /v1/me`).
 *
 * @example
 * export const route = adminRoute("users:read", { method: "get", path: "/", operationId: "listUsers", responses: { 200: ... } });
 */
export function adminRoute<const R extends Omit<RouteConfig, "middleware" | "security"> & { operationId: string }>(
  permission: Permission | null,
  route: R,
): R {
  return createRoute({
    ...route,
    ...(permission ? { middleware: [requirePermission(permission)] } : {}),
    security: [{ bearerAuth: [] }],
    "x-permission": permission,
    responses: { ...standardErrors, ...route.responses },
  } as RouteConfig) as unknown as R;
}

/** `{ data, nextCursor }` of list answers. */
export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
}

export const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** `{ <name>: uuid }` path parameters. */
export function uuidParam<const N extends string>(name: N) {
  const id = z.uuid().openapi({ param: { name, in: "path" }, example: "00000000-0000-4000-8000-000000000000" });
  return z.object({ [name]: id } as { [K in N]: typeof id });
}
