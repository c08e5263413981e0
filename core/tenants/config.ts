import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { tenants, type Tenant } from "../../db/schema";
import { recordAudit } from "../access/audit";
import type { AccessContext } from "../access/context";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { readTenantSettings, retentionPolicy, tenantBudget, tenantSettings } from "./settings";
import { NotFoundError } from "../errors";

/** The tenant's master configuration as the admin API shows it. */
export const tenantConfigDto = z.object({
  id: z.uuid(),
  name: z.string(),
  slug: z.string(),
  locale: z.string(),
  timezone: z.string(),
  defaultModelPolicy: tenantSettings.shape.defaultModelPolicy.unwrap(),
  budget: tenantBudget.required(),
  allowedOrigins: z.array(z.string()),
  /** Publishing an agent version needs a passing test run of it. */
  requireTestsToPublish: z.boolean(),
  /** The reply once the plan's monthly conversations or model tokens are used up. */
  planLimitMessage: z.string(),
  /** Messages older than this are deleted or anonymised by the pool's retention job; null: kept. */
  retention: retentionPolicy.nullable(),
  /** Set while the tenant is being deleted (`DELETE /v1/tenant`): when, and when it will be purged. */
  deletion: z.object({ deletionRequestedAt: z.string(), purgeAfter: z.string() }).nullable(),
  /** Set by the platform operator: the Auth0 Organization whose members sign in here. */
  auth0OrgId: z.string().nullable(),
  updatedAt: z.string(),
});
export type TenantConfigDto = z.infer<typeof tenantConfigDto>;

/**
 * A partial update: fields left out keep their value; nested objects are replaced whole. Built
 * from the settings schema without its defaults, so an absent field is not "reset to default".
 */
export const updateTenantConfigInput = z
  .object({
    name: z.string().trim().min(1).max(120),
    locale: tenantSettings.shape.locale.unwrap(),
    timezone: tenantSettings.shape.timezone.unwrap(),
    defaultModelPolicy: tenantSettings.shape.defaultModelPolicy.unwrap(),
    budget: tenantBudget,
    allowedOrigins: tenantSettings.shape.allowedOrigins.unwrap(),
    requireTestsToPublish: z.boolean(),
    planLimitMessage: tenantSettings.shape.planLimitMessage.unwrap(),
    /** Null turns retention off. */
    retention: retentionPolicy.nullable(),
  })
  .partial()
  .strict();

function toDto(row: Tenant): TenantConfigDto {
  const settings = readTenantSettings(row.settings);
  // Picked field by field: settings also hold sealed secrets (provider keys), which the API never returns.
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    locale: settings.locale,
    timezone: settings.timezone,
    defaultModelPolicy: settings.defaultModelPolicy,
    budget: settings.budget,
    allowedOrigins: settings.allowedOrigins,
    requireTestsToPublish: settings.requireTestsToPublish,
    planLimitMessage: settings.planLimitMessage,
    retention: settings.retention,
    deletion:
      row.deletionRequestedAt && row.purgeAfter
        ? { deletionRequestedAt: row.deletionRequestedAt.toISOString(), purgeAfter: row.purgeAfter.toISOString() }
        : null,
    auth0OrgId: row.auth0OrgId,
    updatedAt: iso(row.updatedAt)!,
  };
}

async function currentTenant(ctx: AccessContext): Promise<Tenant> {
  const [row] = await ctx.tx.select().from(tenants).where(eq(tenants.id, ctx.tenantId));
  if (!row) throw new NotFoundError("tenant");
  return row;
}

export async function getTenantConfig({ ctx }: { ctx: AccessContext; input?: undefined }): Promise<TenantConfigDto> {
  requirePermission(ctx, "settings:read");
  return toDto(await currentTenant(ctx));
}

export async function updateTenantConfig({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof updateTenantConfigInput>;
}): Promise<TenantConfigDto> {
  requirePermission(ctx, "settings:write");
  const current = await currentTenant(ctx);
  const before = toDto(current);
  const { name, ...changes } = input;
  const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
  const settings = tenantSettings.parse({ ...readTenantSettings(current.settings), ...defined });
  const [updated] = await ctx.tx
    .update(tenants)
    .set({ ...(name !== undefined ? { name } : {}), settings, updatedAt: sql`now()` })
    .where(eq(tenants.id, ctx.tenantId))
    .returning();
  const after = toDto(updated!);
  await recordAudit(ctx, { action: "tenant.update", resourceType: "tenant", resourceId: ctx.tenantId, before, after });
  return after;
}
