import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client";
import { knowledgeBases, tenants } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { recordAudit } from "../access/audit";
import type { AccessContext } from "../access/context";
import { requirePermission } from "../access/permissions";
import { DomainError, NotFoundError } from "../errors";

/** Days a deleted tenant can still be restored; the edge's TENANT_DELETION_GRACE_DAYS overrides it. */
export const DEFAULT_DELETION_GRACE_DAYS = 30;

export const deleteTenantInput = z
  .object({
    /** The tenant's name, typed: deleting is never one click away. */
    confirmName: z.string().min(1).max(200),
  })
  .strict();

export interface TenantDeletion {
  deletionRequestedAt: string;
  purgeAfter: string;
}

/**
 * `DELETE /v1/tenant`: the tenant stops at once (its admin API answers 403 `TENANT_DELETED` but for
 * reading the tenant and restoring it; the pool answers none of its messages) and every row of it
 * is purged after the grace period by the pool ({@link purgeDueTenants}). Confirmed by typing the
 * tenant's name. Repeating it answers the same dates.
 */
export async function requestTenantDeletion({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof deleteTenantInput> & { graceDays: number; now?: Date };
}): Promise<TenantDeletion> {
  requirePermission(ctx, "settings:delete");
  const [tenant] = await ctx.tx.select().from(tenants).where(eq(tenants.id, ctx.tenantId));
  if (!tenant) throw new NotFoundError("tenant");
  if (input.confirmName.trim() !== tenant.name.trim()) {
    throw new DomainError("CONFIRMATION_MISMATCH", 422, "Type the tenant's name exactly to confirm the deletion.", {
      field: "confirmName",
    });
  }
  if (tenant.deletionRequestedAt && tenant.purgeAfter) return datesOf(tenant.deletionRequestedAt, tenant.purgeAfter);
  const now = input.now ?? new Date();
  const purgeAfter = new Date(now.getTime() + input.graceDays * 86_400_000);
  await ctx.tx
    .update(tenants)
    .set({ deletionRequestedAt: now, purgeAfter, updatedAt: sql`now()` })
    .where(eq(tenants.id, ctx.tenantId));
  await recordAudit(ctx, {
    action: "tenant.delete",
    resourceType: "tenant",
    resourceId: ctx.tenantId,
    after: { deletionRequestedAt: now.toISOString(), purgeAfter: purgeAfter.toISOString() },
  });
  return datesOf(now, purgeAfter);
}

/** `POST /v1/tenant/restore`: undoes a deletion within its grace period. 409 when there is nothing to restore. */
export async function restoreTenant({ ctx }: { ctx: AccessContext; input?: undefined }): Promise<{ restored: true }> {
  requirePermission(ctx, "settings:delete");
  const [tenant] = await ctx.tx.select().from(tenants).where(eq(tenants.id, ctx.tenantId));
  if (!tenant) throw new NotFoundError("tenant");
  if (!tenant.deletionRequestedAt) throw new DomainError("CONFLICT", 409, "The tenant is not being deleted.");
  await ctx.tx
    .update(tenants)
    .set({ deletionRequestedAt: null, purgeAfter: null, updatedAt: sql`now()` })
    .where(eq(tenants.id, ctx.tenantId));
  await recordAudit(ctx, {
    action: "tenant.restore",
    resourceType: "tenant",
    resourceId: ctx.tenantId,
    before: { deletionRequestedAt: tenant.deletionRequestedAt.toISOString(), purgeAfter: tenant.purgeAfter?.toISOString() ?? null },
  });
  return { restored: true };
}

/** Whether the tenant is stopped for deletion (the admin API's guard and the pool's turns ask). */
export async function tenantDeletionOf(db: Database, tenantId: string): Promise<TenantDeletion | undefined> {
  const [row] = await withTenant(db, tenantId, (tx) =>
    tx.select({ at: tenants.deletionRequestedAt, purgeAfter: tenants.purgeAfter }).from(tenants).where(eq(tenants.id, tenantId)),
  );
  return row?.at && row.purgeAfter ? datesOf(row.at, row.purgeAfter) : undefined;
}

export interface PurgeDependencies {
  db: Database;
  /** Drops a knowledge base's and the tenant's memory collections in Chroma; absent without it. */
  store?: {
    dropKnowledgeBase(scope: { tenantId: string; knowledgeBaseId: string }): Promise<void>;
    dropMemory(tenantId: string): Promise<void>;
  };
  /** Deletes the tenant's objects in S3 (its exports, `exports/<tenant id>/`); absent without an exports bucket. */
  objects?: { deletePrefix(prefix: string): Promise<unknown> };
}

/**
 * Purges every tenant whose grace period is over as of `now`: first its Chroma collections (its
 * knowledge bases', its conversation memory), then its row, which every tenant table references
 * with ON DELETE CASCADE, so all of its rows go in one statement (`purge_tenant`, migration 0027).
 * Sealed secrets live in those rows and go with them; its export archives in S3 are deleted first.
 * A failure leaves the tenant for the next pass (dropping collections again is harmless).
 */
export async function purgeDueTenants(deps: PurgeDependencies, now: Date): Promise<string[]> {
  const { rows } = await deps.db.execute<{ id: string }>(sql`select tenants_due_for_purge(${now.toISOString()}::timestamptz) as id`);
  const purged: string[] = [];
  for (const { id: tenantId } of rows) {
    if (deps.store) {
      const bases = await withTenant(deps.db, tenantId, (tx) =>
        tx.select({ id: knowledgeBases.id }).from(knowledgeBases).where(eq(knowledgeBases.tenantId, tenantId)),
      );
      for (const base of bases) await deps.store.dropKnowledgeBase({ tenantId, knowledgeBaseId: base.id });
      await deps.store.dropMemory(tenantId);
    }
    await deps.objects?.deletePrefix(`exports/${tenantId}/`);
    const { rows: done } = await deps.db.execute<{ purged: boolean }>(
      sql`select purge_tenant(${tenantId}::uuid, ${now.toISOString()}::timestamptz) as purged`,
    );
    if (done[0]?.purged) purged.push(tenantId);
  }
  return purged;
}

function datesOf(at: Date, purgeAfter: Date): TenantDeletion {
  return { deletionRequestedAt: at.toISOString(), purgeAfter: purgeAfter.toISOString() };
}
