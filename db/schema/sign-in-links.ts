import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tenantId } from "./columns";
import { users } from "./users";

/**
 * One-time console sign-in links where Auth0 is not configured (the local stack): the link carries
 * a random token, only its SHA-256 is stored, and redeeming it (`auth_redeem_sign_in_link`) sets
 * `used_at` so it works once, before `expires_at`. Redeemed for a short-lived console session.
 */
export const signInLinks = pgTable(
  "sign_in_links",
  {
    id: id(),
    tenantId: tenantId(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
  },
  (t) => [index("sign_in_links_tenant_idx").on(t.tenantId, t.createdAt)],
);

export type SignInLink = typeof signInLinks.$inferSelect;
