import { z, type RouteHandler } from "@hono/zod-openapi";
import { deleteTenantInput, requestTenantDeletion, restoreTenant } from "../../../../../core/tenants/deletion";
import type { Context } from "hono";
import type { AppEnv } from "../../../context";
import { stoppedTenants } from "../../../stopped-tenants";
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

export const deleteHandler: RouteHandler<typeof deleteRoute, AppEnv> = async (c) => {
  const deletion = await runVerb(c, requestTenantDeletion, {
    ...c.req.valid("json"),
    graceDays: c.get("services").config.TENANT_DELETION_GRACE_DAYS,
  });
  await markStopped(c, deletion.purgeAfter);
  return c.json(deletion, 202);
};

/** The edge's list of stopped tenants (workers/edge/stopped-tenants.ts): its webhooks answer 410. Best effort: the pool checks the database. */
async function markStopped(c: Context<AppEnv>, purgeAfter: string | null): Promise<void> {
  const list = stoppedTenants(c.env);
  const tenantId = c.get("principal")!.tenantId;
  try {
    if (purgeAfter) await list?.put(tenantId, purgeAfter);
    else await list?.delete(tenantId);
  } catch (error) {
    c.get("logger").log("error", "tenant.stopped_list_failed", { error: (error as Error).name });
  }
}

export const restoreRoute = adminRoute("settings:delete", {
  method: "post",
  path: "/restore",
  tags: ["Tenant"],
  operationId: "restoreTenant",
  summary: "Undo a deletion within its grace period",
  description: "409 `CONFLICT` when the tenant is not being deleted.",
  responses: { 200: jsonResponse(z.object({ restored: z.literal(true) }).openapi("TenantRestored"), "The tenant works again") },
});

export const restoreHandler: RouteHandler<typeof restoreRoute, AppEnv> = async (c) => {
  const restored = await runVerb(c, restoreTenant, undefined);
  await markStopped(c, null);
  return c.json(restored, 200);
};
