import { jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { PlanLimits } from "../../core/billing/plans";

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
  /** The plan (core/billing/plans.ts, from configuration): set by Stripe Billing's webhooks or an operator. */
  plan: text("plan").notNull().default("free"),
  /** An operator's custom grant: these limits instead of the plan's while set. */
  planLimits: jsonb("plan_limits").$type<PlanLimits>(),
  /** The tenant as a customer of the platform's own Stripe account, and its subscription. */
  stripeCustomerId: text("stripe_customer_id").unique(),
  stripeSubscriptionId: text("stripe_subscription_id"),
  /** Stripe's subscription status (`active`, `past_due`, `canceled`, …). */
  subscriptionStatus: text("subscription_status"),
  /** The first failed payment not yet followed by a paid invoice: the grace period runs from here. */
  paymentFailedAt: timestamp("payment_failed_at", { withTimezone: true }),
  /** `created` of the last Stripe event applied: older events arriving late change nothing. */
  billingEventAt: timestamp("billing_event_at", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type Tenant = typeof tenants.$inferSelect;
export type NewTenant = typeof tenants.$inferInsert;
