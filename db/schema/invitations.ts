import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { roles } from "./access";
import { createdAt, id, tenantId } from "./columns";
import { users } from "./users";

/**
 * A pending place in a tenant for an email address. On the invitee's first Auth0 sign-in with
 * that (verified) email, the membership is created with `role_id` and `accepted_at` is set; without
 * Auth0, redeeming the acceptance link does the same (`auth_accept_invitation`).
 * Emails are stored lower-cased; one pending invitation per email and tenant.
 */
export const invitations = pgTable(
  "invitations",
  {
    id: id(),
    tenantId: tenantId(),
    email: text("email").notNull(),
    roleId: uuid("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "restrict" }),
    invitedByUserId: uuid("invited_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    acceptedAt: timestamp("accepted_at", { withTimezone: true }),
    /** Without Auth0: the SHA-256 of the one-time acceptance link's token (the link is shown once, at creation). */
    acceptTokenHash: text("accept_token_hash").unique(),
    /** With Auth0: the organisation invitation Auth0 emailed (`uinv_…`), withdrawn with this one. */
    auth0InvitationId: text("auth0_invitation_id"),
  },
  (t) => [
    uniqueIndex("invitations_pending_email_unique")
      .on(t.tenantId, t.email)
      .where(sql`${t.acceptedAt} is null`),
    index("invitations_tenant_idx").on(t.tenantId, t.createdAt),
  ],
);

export type Invitation = typeof invitations.$inferSelect;
export type NewInvitation = typeof invitations.$inferInsert;
