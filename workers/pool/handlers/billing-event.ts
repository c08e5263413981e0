import { and, eq, sql } from "drizzle-orm";
import { DEFAULT_PLANS, FREE_PLAN, type PlansConfig } from "../../../core/billing/plans";
import type { BillingEventMessage } from "../../../core/queue/inbound-message";
import { tenants } from "../../../db/schema";
import { withTenant } from "../../../db/tenant";
import type { MessageHandler } from "./types";

/** Subscription statuses that keep the plan paid for (a `past_due` one runs the grace period of its failed invoice). */
const PAYING = new Set(["active", "trialing", "past_due"]);

/**
 * `billing.event`: the platform's Stripe account reports on a tenant's subscription or invoices
 * (the edge checked the signature). The tenant is the one whose customer the event names; an event
 * for a customer the platform does not know changes nothing.
 * - a completed Checkout names the subscription it created;
 * - `customer.subscription.created` / `.updated`: the plan is the one whose Stripe price the
 *   subscription has while it is paid for (`active`, `trialing`, `past_due`); other statuses, and
 *   `.deleted`, move the tenant to the free plan. Events older than the last one applied are ignored
 *   (Stripe does not promise order);
 * - `invoice.payment_failed` starts the grace period (once); `invoice.paid` ends it.
 * Nothing is deleted: a plan change only changes what may be added or answered from then on.
 */
export const handleBillingEvent: MessageHandler<BillingEventMessage> = async (deps, event) => {
  const logger = deps.logger.child({ eventId: event.eventId, eventType: event.eventType });
  const { rows } = await deps.db.execute<{ tenant_id: string | null }>(
    sql`select billing_tenant_for_customer(${event.customerId}) as tenant_id`,
  );
  const tenantId = rows[0]?.tenant_id;
  if (!tenantId) {
    logger.log("info", "billing.event_unmatched", { customerId: event.customerId });
    return "status_recorded";
  }
  const at = new Date(event.created * 1000);
  const changed = await withTenant(deps.db, tenantId, async (tx) => {
    const mine = and(eq(tenants.id, tenantId), eq(tenants.stripeCustomerId, event.customerId));
    const notOlder = sql`(${tenants.billingEventAt} is null or ${tenants.billingEventAt} <= ${at.toISOString()}::timestamptz)`;
    switch (event.eventType) {
      case "checkout.session.completed":
        if (!event.subscription) return [];
        return tx
          .update(tenants)
          .set({ stripeSubscriptionId: event.subscription.id, updatedAt: sql`now()` })
          .where(and(mine, sql`${tenants.stripeSubscriptionId} is null`))
          .returning({ plan: tenants.plan });
      case "customer.subscription.created":
      case "customer.subscription.updated":
      case "customer.subscription.deleted": {
        const subscription = event.subscription;
        if (!subscription) return [];
        const deleted = event.eventType === "customer.subscription.deleted";
        const status = deleted ? "canceled" : (subscription.status ?? "active");
        const plan = PAYING.has(status) ? planForPrices(deps.plans ?? DEFAULT_PLANS, subscription.priceIds ?? []) : FREE_PLAN;
        if (!plan) logger.log("warn", "billing.unknown_price", { priceIds: subscription.priceIds ?? [] });
        return tx
          .update(tenants)
          .set({
            ...(plan ? { plan } : {}),
            stripeSubscriptionId: deleted ? null : subscription.id,
            subscriptionStatus: status,
            ...(plan === FREE_PLAN ? { paymentFailedAt: null } : {}),
            billingEventAt: at,
            updatedAt: sql`now()`,
          })
          .where(and(mine, notOlder))
          .returning({ plan: tenants.plan });
      }
      case "invoice.payment_failed":
        return tx
          .update(tenants)
          .set({ paymentFailedAt: sql`coalesce(${tenants.paymentFailedAt}, ${at.toISOString()}::timestamptz)`, updatedAt: sql`now()` })
          .where(mine)
          .returning({ plan: tenants.plan });
      case "invoice.paid":
        return tx
          .update(tenants)
          .set({ paymentFailedAt: null, updatedAt: sql`now()` })
          .where(mine)
          .returning({ plan: tenants.plan });
      default:
        return [];
    }
  });
  logger.log("info", "billing.event", { tenantId, applied: changed.length > 0, plan: changed[0]?.plan });
  return "status_recorded";
};

/** The plan a subscription's prices buy (the first price that is a plan's). */
function planForPrices(plans: PlansConfig, priceIds: string[]): string | undefined {
  for (const priceId of priceIds) {
    const found = Object.entries(plans).find(([, plan]) => plan.stripePriceId === priceId);
    if (found) return found[0];
  }
  return undefined;
}
