import { and, count, eq, ne } from "drizzle-orm";
import type { z } from "zod";
import { memberships, roles, users } from "../../db/schema";
import { recordAudit } from "./audit";
import type { AccessContext } from "./context";
import { keyset, type Page, type PageInput } from "./pagination";
import { effectivePermissions, requireCanGrant, requirePermission } from "./permissions";
import { findRole } from "./roles";
import { iso, type updateUserInput, type UserDto } from "./schemas";
import { ConflictError, NotFoundError } from "../errors";

/**
 * "Users" of the admin API are the tenant's members: a global user (one Auth0 subject) joined to
 * this tenant by a membership with one role. Removing a user deletes the membership; their Auth0
 * account and memberships elsewhere are untouched.
 */
const memberColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  roleId: roles.id,
  roleName: roles.name,
  roleBuiltin: roles.builtin,
  rolePermissions: roles.permissions,
  joinedAt: memberships.createdAt,
};

type MemberRow = { id: string; email: string; name: string | null; roleId: string; roleName: string; joinedAt: Date };

function toUserDto(row: MemberRow): UserDto {
  return { id: row.id, email: row.email, name: row.name, role: { id: row.roleId, name: row.roleName }, joinedAt: iso(row.joinedAt)! };
}

function members(ctx: AccessContext) {
  return ctx.tx
    .select({ ...memberColumns, cursorAt: keyset(memberships, {}).cursorColumn })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(roles, and(eq(roles.id, memberships.roleId), eq(roles.tenantId, memberships.tenantId)))
    .$dynamic();
}

async function findMember(ctx: AccessContext, userId: string) {
  const [row] = await members(ctx).where(and(eq(memberships.tenantId, ctx.tenantId), eq(memberships.userId, userId)));
  if (!row) throw new NotFoundError("user");
  return row;
}

/** Refuses to leave the tenant without a member holding the built-in admin role. */
async function ensureAnotherAdmin(ctx: AccessContext, userId: string): Promise<void> {
  const [others] = await ctx.tx
    .select({ n: count() })
    .from(memberships)
    .innerJoin(roles, eq(roles.id, memberships.roleId))
    .where(and(eq(memberships.tenantId, ctx.tenantId), ne(memberships.userId, userId), eq(roles.builtin, true), eq(roles.name, "admin")));
  if (others!.n === 0) throw new ConflictError("This is the tenant's last admin; make someone else admin first.");
}

export async function listUsers({ ctx, input }: { ctx: AccessContext; input: PageInput }): Promise<Page<UserDto>> {
  requirePermission(ctx, "users:read");
  const page = keyset({ createdAt: memberships.createdAt, id: memberships.userId }, input);
  const rows = await members(ctx)
    .where(and(eq(memberships.tenantId, ctx.tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, toUserDto);
}

export async function getUser({ ctx, input }: { ctx: AccessContext; input: { userId: string } }): Promise<UserDto> {
  requirePermission(ctx, "users:read");
  return toUserDto(await findMember(ctx, input.userId));
}

export async function updateUser({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof updateUserInput> & { userId: string };
}): Promise<UserDto> {
  requirePermission(ctx, "users:write");
  const current = await findMember(ctx, input.userId);
  const before = toUserDto(current);
  if (!input.roleId || input.roleId === current.roleId) return before;
  requireCanGrant(
    ctx,
    effectivePermissions({ name: current.roleName, builtin: current.roleBuiltin, permissions: current.rolePermissions }),
  );
  const role = await findRole(ctx, input.roleId);
  requireCanGrant(ctx, effectivePermissions(role));
  if (current.roleBuiltin && current.roleName === "admin" && !(role.builtin && role.name === "admin"))
    await ensureAnotherAdmin(ctx, input.userId);
  await ctx.tx
    .update(memberships)
    .set({ roleId: role.id })
    .where(and(eq(memberships.tenantId, ctx.tenantId), eq(memberships.userId, input.userId)));
  const after = toUserDto({ ...current, roleId: role.id, roleName: role.name });
  await recordAudit(ctx, { action: "user.update", resourceType: "user", resourceId: input.userId, before, after });
  return after;
}

export async function removeUser({ ctx, input }: { ctx: AccessContext; input: { userId: string } }): Promise<void> {
  requirePermission(ctx, "users:delete");
  const current = await findMember(ctx, input.userId);
  requireCanGrant(
    ctx,
    effectivePermissions({ name: current.roleName, builtin: current.roleBuiltin, permissions: current.rolePermissions }),
  );
  if (current.roleBuiltin && current.roleName === "admin") await ensureAnotherAdmin(ctx, input.userId);
  await ctx.tx.delete(memberships).where(and(eq(memberships.tenantId, ctx.tenantId), eq(memberships.userId, input.userId)));
  await recordAudit(ctx, { action: "user.remove", resourceType: "user", resourceId: input.userId, before: toUserDto(current) });
}
