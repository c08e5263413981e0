import { and, eq, sql } from "drizzle-orm";
import { requireWithinPlan } from "../billing/limits";
import type { z } from "zod";
import type { Database } from "../../db/client";
import { type Invitation, invitations, memberships, roles, tenants, users } from "../../db/schema";
import { toBase64Url } from "../crypto/encoding";
import { sha256Hex } from "../crypto/hmac";
import { callAsApp } from "./principal";
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
    emailed: row.auth0InvitationId !== null,
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
 * Invites an email address with a role. With Auth0, Auth0 emails an organisation invitation and the
 * invitee joins on their first sign-in through the tenant's organisation with that email verified
 * (the auth_member database function). Without Auth0 (LOCAL_SIGN_IN) the answer carries a one-time
 * acceptance link ({@link acceptInvitation}). The Auth0 call runs inside the transaction, after the
 * row is written: a refused duplicate never reaches Auth0, and a failed call leaves no row.
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
  await requireWithinPlan(ctx, "seats");
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
  let invitation = row!;
  let acceptUrl: string | undefined;
  const via = ctx.services?.invitations;
  if (via?.via === "link") {
    const token = `${ACCEPT_TOKEN_PREFIX}${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
    await ctx.tx
      .update(invitations)
      .set({ acceptTokenHash: await sha256Hex(token) })
      .where(eq(invitations.id, invitation.id));
    acceptUrl = `${via.publicBaseUrl.replace(/\/+$/, "")}/console/#/accept?token=${encodeURIComponent(token)}`;
  } else if (via?.via === "auth0") {
    const orgId = await tenantOrganization(ctx);
    if (orgId) {
      const sent = await via.auth0.invite(orgId, {
        email,
        inviterName: await inviterName(ctx),
        ttlSeconds: Math.round((expiresAt.getTime() - Date.now()) / 1000),
      });
      await ctx.tx.update(invitations).set({ auth0InvitationId: sent.id }).where(eq(invitations.id, invitation.id));
      invitation = { ...invitation, auth0InvitationId: sent.id };
    }
  }
  const dto = toInvitationDto(invitation, { id: role.id, name: role.name });
  await recordAudit(ctx, { action: "invitation.create", resourceType: "invitation", resourceId: dto.id, after: dto });
  return acceptUrl ? { ...dto, acceptUrl } : dto;
}

const ACCEPT_TOKEN_PREFIX = "inv_";

async function tenantOrganization(ctx: AccessContext): Promise<string | null> {
  const [tenant] = await ctx.tx.select({ orgId: tenants.auth0OrgId }).from(tenants).where(eq(tenants.id, ctx.tenantId));
  return tenant?.orgId ?? null;
}

/** The name Auth0's invitation email shows: the inviting user's, else the tenant's. */
async function inviterName(ctx: AccessContext): Promise<string> {
  if (ctx.actor.userId) {
    const [user] = await ctx.tx.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, ctx.actor.userId));
    if (user) return user.name ?? user.email;
  }
  const [tenant] = await ctx.tx.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, ctx.tenantId));
  return tenant?.name ?? "Your team";
}

/**
 * Without Auth0: the invitee redeems the one-time link and becomes a member with the invitation's
 * role and email (`auth_accept_invitation`). Undefined for an unknown, used or expired link.
 */
export async function acceptInvitation(
  db: Database,
  input: { token: string; name: string },
): Promise<{ tenantId: string; userId: string } | undefined> {
  if (!input.token.startsWith(ACCEPT_TOKEN_PREFIX) || input.token.length > 128) return undefined;
  const row = await callAsApp<{ tenant_id: string; user_id: string }>(
    db,
    sql`select * from auth_accept_invitation(${await sha256Hex(input.token)}, ${`local|${crypto.randomUUID()}`}, ${input.name})`,
  );
  return row ? { tenantId: row.tenant_id, userId: row.user_id } : undefined;
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
  const via = ctx.services?.invitations;
  if (via?.via === "auth0" && row.invitation.auth0InvitationId && !row.invitation.acceptedAt) {
    const orgId = await tenantOrganization(ctx);
    if (orgId) await via.auth0.deleteInvitation(orgId, row.invitation.auth0InvitationId);
  }
  await recordAudit(ctx, {
    action: "invitation.delete",
    resourceType: "invitation",
    resourceId: input.invitationId,
    before: toInvitationDto(row.invitation, { id: row.invitation.roleId, name: row.roleName }),
  });
}
