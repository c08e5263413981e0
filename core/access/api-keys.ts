import { and, eq, sql } from "drizzle-orm";
import type { z } from "zod";
import { type ApiKey, apiKeys, roles } from "../../db/schema";
import { generateApiKey, redactedApiKey } from "./api-key-format";
import { recordAudit } from "./audit";
import type { AccessContext } from "./context";
import { keyset, type Page, type PageInput } from "./pagination";
import { effectivePermissions, requireCanGrant, requirePermission } from "./permissions";
import { findRole } from "./roles";
import { type ApiKeyDto, type createApiKeyInput, type createdApiKeyDto, iso } from "./schemas";
import { NotFoundError } from "../errors";

function toApiKeyDto(row: ApiKey, role: { id: string; name: string }): ApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    prefix: redactedApiKey(row.publicId),
    role,
    createdAt: iso(row.createdAt)!,
    lastUsedAt: iso(row.lastUsedAt),
    revokedAt: iso(row.revokedAt),
  };
}

export async function listApiKeys({ ctx, input }: { ctx: AccessContext; input: PageInput }): Promise<Page<ApiKeyDto>> {
  requirePermission(ctx, "users:read");
  const page = keyset(apiKeys, input);
  const rows = await ctx.tx
    .select({ key: apiKeys, id: apiKeys.id, roleName: roles.name, cursorAt: page.cursorColumn })
    .from(apiKeys)
    .innerJoin(roles, eq(roles.id, apiKeys.roleId))
    .where(and(eq(apiKeys.tenantId, ctx.tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, (row) => toApiKeyDto(row.key, { id: row.key.roleId, name: row.roleName }));
}

/** Mints a key for one of the tenant's roles; the key is in this answer only. */
export async function createApiKey({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof createApiKeyInput>;
}): Promise<z.infer<typeof createdApiKeyDto>> {
  requirePermission(ctx, "users:write");
  const role = await findRole(ctx, input.roleId);
  requireCanGrant(ctx, effectivePermissions(role));
  const secret = await generateApiKey();
  const [row] = await ctx.tx
    .insert(apiKeys)
    .values({
      tenantId: ctx.tenantId,
      name: input.name,
      publicId: secret.publicId,
      secretHash: secret.secretHash,
      roleId: role.id,
      createdByUserId: ctx.actor.userId ?? null,
    })
    .returning();
  const dto = toApiKeyDto(row!, { id: role.id, name: role.name });
  await recordAudit(ctx, { action: "api_key.create", resourceType: "api_key", resourceId: dto.id, after: dto });
  return { ...dto, key: secret.key };
}

/** Revokes for good (the row stays for the audit trail); revoking twice changes nothing. */
export async function revokeApiKey({ ctx, input }: { ctx: AccessContext; input: { apiKeyId: string } }): Promise<ApiKeyDto> {
  requirePermission(ctx, "users:delete");
  const [current] = await ctx.tx
    .select({ key: apiKeys, roleName: roles.name, rolePermissions: roles.permissions, roleBuiltin: roles.builtin })
    .from(apiKeys)
    .innerJoin(roles, eq(roles.id, apiKeys.roleId))
    .where(and(eq(apiKeys.tenantId, ctx.tenantId), eq(apiKeys.id, input.apiKeyId)));
  if (!current) throw new NotFoundError("API key");
  const role = { id: current.key.roleId, name: current.roleName };
  const before = toApiKeyDto(current.key, role);
  if (current.key.revokedAt) return before;
  const [updated] = await ctx.tx
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiKeys.tenantId, ctx.tenantId), eq(apiKeys.id, input.apiKeyId)))
    .returning();
  const after = toApiKeyDto(updated!, role);
  await recordAudit(ctx, { action: "api_key.revoke", resourceType: "api_key", resourceId: after.id, before, after });
  return after;
}
