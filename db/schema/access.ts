import { boolean, index, jsonb, pgTable, text, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tenantId } from "./columns";
import { users } from "./users";

/** A named set of permissions inside one tenant; `builtin` marks admin/editor/viewer. */
export const roles = pgTable(
  "roles",
  {
    id: id(),
    tenantId: tenantId(),
    name: text("name").notNull(),
    permissions: jsonb("permissions").$type<string[]>().notNull().default([]),
    builtin: boolean("builtin").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [unique("roles_tenant_name_unique").on(t.tenantId, t.name)],
);

/** A user's place in a tenant: exactly one role per tenant. */
export const memberships = pgTable(
  "memberships",
  {
    id: id(),
    tenantId: tenantId(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    roleId: uuid("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "restrict" }),
    createdAt: createdAt(),
  },
  (t) => [unique("memberships_tenant_user_unique").on(t.tenantId, t.userId), index("memberships_user_idx").on(t.userId)],
);

export type Role = typeof roles.$inferSelect;
export type NewRole = typeof roles.$inferInsert;
export type Membership = typeof memberships.$inferSelect;
export type NewMembership = typeof memberships.$inferInsert;
