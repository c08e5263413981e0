import { and, count, eq } from "drizzle-orm";
import type { z } from "zod";
import { apiKeys, invitations, memberships, type Role, roles } from "../../db/schema";
import { recordAudit } from "./audit";
import type { AccessContext } from "./context";
import { keyset, type Page, type PageInput } from "./pagination";
import { effectivePermissions, isBuiltinRole, requireCanGrant, requirePermission } from "./permissions";
import type { createRoleInput, RoleDto, updateRoleInput } from "./schemas";
import { iso } from "./schemas";
import { ConflictError, InvalidRequestError, NotFoundError, conflictOnDuplicate } from "../errors";

export function toRoleDto(role: Role): RoleDto {
  return {
    id: role.id,
    name: role.name,
    builtin: role.builtin,
    permissions: [...effectivePermissions(role)],
    createdAt: iso(role.createdAt)!,
  };
}

/** The tenant's role with this id, or NotFoundError (another tenant's id included). */
export async function findRole(ctx: AccessContext, roleId: string): Promise<Role> {
  const [role] = await ctx.tx
    .select()
    .from(roles)
    .where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.id, roleId)));
  if (!role) throw new NotFoundError("role");
  return role;
}

export async function listRoles({ ctx, input }: { ctx: AccessContext; input: PageInput }): Promise<Page<RoleDto>> {
  requirePermission(ctx, "users:read");
  const page = keyset(roles, input);
  const rows = await ctx.tx
    .select({ role: roles, id: roles.id, cursorAt: page.cursorColumn })
    .from(roles)
    .where(and(eq(roles.tenantId, ctx.tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, (row) => toRoleDto(row.role));
}

export async function getRole({ ctx, input }: { ctx: AccessContext; input: { roleId: string } }): Promise<RoleDto> {
  requirePermission(ctx, "users:read");
  return toRoleDto(await findRole(ctx, input.roleId));
}

export async function createRole({ ctx, input }: { ctx: AccessContext; input: z.infer<typeof createRoleInput> }): Promise<RoleDto> {
  requirePermission(ctx, "users:write");
  requireCanGrant(ctx, input.permissions);
  if (isBuiltinRole(input.name)) throw new ConflictError(`"${input.name}" is a built-in role.`);
  const [role] = await conflictOnDuplicate(
    ctx.tx
      .insert(roles)
      .values({ tenantId: ctx.tenantId, name: input.name, permissions: [...new Set(input.permissions)], builtin: false })
      .returning(),
    `A role named "${input.name}" exists.`,
  );
  const dto = toRoleDto(role!);
  await recordAudit(ctx, { action: "role.create", resourceType: "role", resourceId: dto.id, after: dto });
  return dto;
}

export async function updateRole({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof updateRoleInput> & { roleId: string };
}): Promise<RoleDto> {
  requirePermission(ctx, "users:write");
  const current = await findRole(ctx, input.roleId);
  if (current.builtin) throw new InvalidRequestError("Built-in roles cannot be changed; create a custom role instead.");
  requireCanGrant(ctx, effectivePermissions(current));
  if (input.permissions) requireCanGrant(ctx, input.permissions);
  if (input.name !== undefined && isBuiltinRole(input.name)) throw new ConflictError(`"${input.name}" is a built-in role.`);
  const before = toRoleDto(current);
  const [updated] = await conflictOnDuplicate(
    ctx.tx
      .update(roles)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.permissions ? { permissions: [...new Set(input.permissions)] } : {}),
      })
      .where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.id, input.roleId)))
      .returning(),
    `A role named "${input.name}" exists.`,
  );
  const after = toRoleDto(updated!);
  await recordAudit(ctx, { action: "role.update", resourceType: "role", resourceId: after.id, before, after });
  return after;
}

export async function deleteRole({ ctx, input }: { ctx: AccessContext; input: { roleId: string } }): Promise<void> {
  requirePermission(ctx, "users:delete");
  const current = await findRole(ctx, input.roleId);
  if (current.builtin) throw new InvalidRequestError("Built-in roles cannot be deleted.");
  requireCanGrant(ctx, effectivePermissions(current));
  for (const table of [memberships, apiKeys, invitations]) {
    const [used] = await ctx.tx
      .select({ n: count() })
      .from(table)
      .where(and(eq(table.tenantId, ctx.tenantId), eq(table.roleId, input.roleId)));
    if (used!.n > 0) throw new ConflictError("The role is still given to users, invitations or API keys; move them to another role first.");
  }
  await ctx.tx.delete(roles).where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.id, input.roleId)));
  await recordAudit(ctx, { action: "role.delete", resourceType: "role", resourceId: current.id, before: toRoleDto(current) });
}
