import { and, eq, sql } from "drizzle-orm";
import type { z } from "zod";
import { type Invitation, invitations, memberships, roles, users } from "../../db/schema";
import { recordAudit } from "./audit";
import type { AccessContext } from "./context";
import { keyset, type Page, type PageInput } from "./pagination";
import { effectivePermissions, requireCanGrant, requirePermission } from "./permissions";
import { findRole } from "./roles";
import { type createInvitationInput, type InvitationDto, iso } from "./schemas";
import { ConflictError, NotFoundError, conflictOnDuplicate } from "../errors";

const DEFAULT_EXPIRY_DAYS = 14;

function toInvitationDto(row: Invitation, role: { id: string; name: string }, now = new Date()): InvitationDto {
  const status = row.acceptedAt ? "accepted" : row.expiresAt <= now ? "expired" : "pending";
  return {
    id: row.id,
    email: row.email,
    role,
    status,
    createdAt: iso(row.createdAt)!,
    expiresAt: iso(row.expiresAt)!,
    acceptedAt: iso(row.acceptedAt),
  };
}

export async function listInvitations({ ctx, input }: { ctx: AccessContext; input: PageInput }): Promise<Page<InvitationDto>> {
  requirePermission(ctx, "users:read");
  const page = keyset(invitations, input);
  const rows = await ctx.tx
    .select({ invitation: invitations, id: invitations.id, roleName: roles.name, cursorAt: page.cursorColumn })
    .from(invitations)
    .innerJoin(roles, eq(roles.id, invitations.roleId))
    .where(and(eq(invitations.tenantId, ctx.tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, (row) => toInvitationDto(row.invitation, { id: row.invitation.roleId, name: row.roleName }));
}

/**
 * Invites an email address with a role. The invitee joins on their first Auth0 sign-in through the
 * tenant's organisation with that email verified (see the auth_member database function).
 */
export async function createInvitation({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof createInvitationInput>;
}): Promise<InvitationDto> {
  requirePermission(ctx, "users:write");
  const role = await findRole(ctx, input.roleId);
  requireCanGrant(ctx, effectivePermissions(role));
  const email = input.email.toLowerCase();
  const [member] = await ctx.tx
    .select({ id: users.id })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.tenantId, ctx.tenantId), eq(sql`lower(${users.email})`, email)));
  if (member) throw new ConflictError("Someone with this email is already a member.");
  // An expired, unaccepted invitation would block the unique index: replace it.
  await ctx.tx
    .delete(invitations)
    .where(
      and(
        eq(invitations.tenantId, ctx.tenantId),
        eq(invitations.email, email),
        sql`${invitations.acceptedAt} is null`,
        sql`${invitations.expiresAt} <= now()`,
      ),
    );
  const expiresAt = new Date(Date.now() + (input.expiresInDays ?? DEFAULT_EXPIRY_DAYS) * 86_400_000);
  const [row] = await conflictOnDuplicate(
    ctx.tx
      .insert(invitations)
      .values({ tenantId: ctx.tenantId, email, roleId: role.id, invitedByUserId: ctx.actor.userId ?? null, expiresAt })
      .returning(),
    "This email already has a pending invitation.",
  );
  const dto = toInvitationDto(row!, { id: role.id, name: role.name });
  await recordAudit(ctx, { action: "invitation.create", resourceType: "invitation", resourceId: dto.id, after: dto });
  return dto;
}

export async function deleteInvitation({ ctx, input }: { ctx: AccessContext; input: { invitationId: string } }): Promise<void> {
  requirePermission(ctx, "users:delete");
  const [row] = await ctx.tx
    .select({ invitation: invitations, roleName: roles.name })
    .from(invitations)
    .innerJoin(roles, eq(roles.id, invitations.roleId))
    .where(and(eq(invitations.tenantId, ctx.tenantId), eq(invitations.id, input.invitationId)));
  if (!row) throw new NotFoundError("invitation");
  await ctx.tx.delete(invitations).where(and(eq(invitations.tenantId, ctx.tenantId), eq(invitations.id, input.invitationId)));
  await recordAudit(ctx, {
    action: "invitation.delete",
    resourceType: "invitation",
    resourceId: input.invitationId,
    before: toInvitationDto(row.invitation, { id: row.invitation.roleId, name: row.roleName }),
  });
}
