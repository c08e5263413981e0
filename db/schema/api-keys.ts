import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { roles } from "./access";
import { createdAt, id, tenantId } from "./columns";
import { users } from "./users";

/**
 * Server-to-server credentials (a Bubble.io backend workflow, scripts): one tenant, one role.
 * The key itself (`ak_<public id>_<secret>`) is shown once; only its SHA-256 is stored
 * (see core/access/api-key-format.ts). `revoked_at` set = dead for good.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    /** The non-secret middle part of the key, shown in lists so a key can be recognised. */
    publicId: text("public_id").notNull().unique(),
    secretHash: text("secret_hash").notNull(),
    roleId: uuid("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "restrict" }),
    createdByUserId: uuid("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    /** Written at most once a minute per key (see the auth_api_key function). */
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("api_keys_tenant_idx").on(t.tenantId, t.createdAt)],
);

export type ApiKey = typeof apiKeys.$inferSelect;
export type NewApiKey = typeof apiKeys.$inferInsert;
