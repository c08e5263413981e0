import type { NormalizedPayload } from "../channels/adapter";
import type { StripeEvent } from "../integrations/stripe/webhook";
import { billingEventMessage } from "../queue/builders";

/** The events of the platform's Stripe account that move a tenant's plan (the endpoint should subscribe to these). */
export const BILLING_EVENTS = [
  "checkout.session.completed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "invoice.paid",
  "invoice.payment_failed",
] as const;

const id = (value: unknown) => (typeof value === "string" && value.length > 0 && value.length <= 128 ? value : undefined);

/**
 * A billing event as the queue carries it: the customer it is about and, for subscriptions, the
 * status and the prices (which name the plan). Everything else of Stripe's object stays behind.
 */
export function normalizeBillingEvent(event: StripeEvent, receivedAt: Date): NormalizedPayload {
  if (!(BILLING_EVENTS as readonly string[]).includes(event.type))
    return { messages: [], ignored: [`event type ${event.type} is not handled`] };
  const object = event.data.object;
  const customerId = id(object.customer);
  if (!customerId) return { messages: [], ignored: [`${event.type} without a customer`] };
  let subscription: { id: string; status?: string; priceIds?: string[] } | undefined;
  if (event.type === "checkout.session.completed") {
    const subscriptionId = id(object.subscription);
    if (object.mode !== "subscription" || !subscriptionId) return { messages: [], ignored: ["checkout session without a subscription"] };
    subscription = { id: subscriptionId };
  } else if (event.type.startsWith("customer.subscription.")) {
    const subscriptionId = id(object.id);
    if (!subscriptionId) return { messages: [], ignored: ["subscription without an id"] };
    const items = (object.items as { data?: Array<{ price?: { id?: unknown } }> } | undefined)?.data ?? [];
    const priceIds = items.map((item) => id(item.price?.id)).filter((price): price is string => price !== undefined);
    subscription = { id: subscriptionId, ...(id(object.status) ? { status: id(object.status)! } : {}), priceIds: priceIds.slice(0, 20) };
  }
  return {
    messages: [
      billingEventMessage({
        eventId: event.id,
        eventType: event.type,
        created: event.created,
        customerId,
        ...(subscription ? { subscription } : {}),
        receivedAt,
      }),
    ],
    ignored: [],
  };
}
