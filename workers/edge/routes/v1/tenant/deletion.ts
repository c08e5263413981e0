import { z, type RouteHandler } from "@hono/zod-openapi";
import { deleteTenantInput, requestTenantDeletion, restoreTenant } from "../../../../../core/tenants/deletion";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";

const deletion = z
  .object({
    deletionRequestedAt: z.string(),
    purgeAfter: z.string().openapi({ description: "When every row of the tenant is deleted; restorable until then" }),
  })
  .openapi("TenantDeletion");

export const deleteRoute = adminRoute("settings:delete", {
  method: "delete",
  path: "/",
  tags: ["Tenant"],
  operationId: "deleteTenant",
  summary: "Delete the tenant (restorable during a grace period)",
  description:
    "Confirmed by typing the tenant's name. The tenant stops at once: its admin API answers 403 `TENANT_DELETED` (but for reading " +
    "the tenant and restoring it) and no message of it is answered. After the grace period (30 days unless the platform says " +
    "otherwise) the pool deletes every row of the tenant, its knowledge and memory collections and its sealed secrets. " +
    "Repeating it answers the same dates.",
  request: { body: jsonBody(deleteTenantInput.openapi("DeleteTenant")) },
  responses: { 202: jsonResponse(deletion, "Stopped; purged after `purgeAfter`") },
});

export const deleteHandler: RouteHandler<typeof deleteRoute, AppEnv> = async (c) =>
  c.json(
    await runVerb(c, requestTenantDeletion, { ...c.req.valid("json"), graceDays: c.get("services").config.TENANT_DELETION_GRACE_DAYS }),
    202,
  );

export const restoreRoute = adminRoute("settings:delete", {
  method: "post",
  path: "/restore",
  tags: ["Tenant"],
  operationId: "restoreTenant",
  summary: "Undo a deletion within its grace period",
  description: "409 `CONFLICT` when the tenant is not being deleted.",
  responses: { 200: jsonResponse(z.object({ restored: z.literal(true) }).openapi("TenantRestored"), "The tenant works again") },
});

export const restoreHandler: RouteHandler<typeof restoreRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, restoreTenant, undefined), 200);
