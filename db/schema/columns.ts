import { timestamp, uuid } from "drizzle-orm/pg-core";
import { tenants } from "./tenants";

/**
 * Column builders shared by every tenant-owned table, so the isolation column is spelled the
 * same way everywhere (the row-level security migration relies on the name `tenant_id`).
 */
export const id = () => uuid("id").primaryKey().defaultRandom();

/** `tenant_id uuid not null references tenants on delete cascade`. */
export const tenantId = () =>
  uuid("tenant_id")
    .notNull()
    .references(() => tenants.id, { onDelete: "cascade" });

export const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

/** `created_at` and `updated_at`; the application sets `updated_at` on writes. */
export const timestamps = () => ({
  createdAt: createdAt(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
