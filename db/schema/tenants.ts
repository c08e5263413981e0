import { jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** A business using the platform; the root of every tenant-owned row. */
export const tenants = pgTable("tenants", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull(),
  slug: text("slug").notNull().unique(),
  /** The master configuration (`core/tenants/settings.ts`), validated on every read and write. */
  settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
  /**
   * The Auth0 Organization (`org_id` claim) whose members sign in to this tenant. Null: no Auth0
   * sign-in for this tenant (API keys only).
   */
  auth0OrgId: text("auth0_org_id").unique(),
  /** `DELETE /v1/tenant`: the tenant stopped at this moment (its API answers 403, its turns are not run). */
  deletionRequestedAt: timestamp("deletion_requested_at", { withTimezone: true }),
  /** When the pool's purge deletes every row of the tenant; restorable until then (`POST /v1/tenant/restore`). */
  purgeAfter: timestamp("purge_after", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type Tenant = typeof tenants.$inferSelect;
export type NewTenant = typeof tenants.$inferInsert;
