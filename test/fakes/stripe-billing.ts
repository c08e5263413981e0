import { createHmac, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./oauth-provider";

/**
 * The platform's own Stripe account in the Stripe fake: Stripe Billing as the platform charges its
 * tenants. The REST API (customers, Checkout and Customer Portal sessions, invoice previews,
 * billing meter events with their `identifier`), authenticated by the account's secret key, with
 * Stripe's idempotency keys honoured; and the account's side of a subscription's life, each step
 * sending the events Stripe sends to the account's webhook endpoint, signed as Stripe signs.
 */
export interface FakeBillingAccount {
  secretKey: string;
  customers: Array<{ id: string; name: string; metadata: Record<string, string> }>;
  checkoutSessions: Array<{
    id: string;
    url: string;
    customer: string;
    price: string;
    clientReferenceId: string;
    successUrl: string;
    cancelUrl: string;
    status: "open" | "complete";
  }>;
  subscriptions: Array<{ id: string; customer: string; status: string; price: string }>;
  /** Meter events accepted (a repeated identifier is refused, not counted). */
  meterEvents: Array<{ eventName: string; identifier: string; customer: string; value: number; timestamp: number }>;
  /** Where the account's webhook endpoint points, and its signing secret. */
  webhook: { url: string; secret: string } | undefined;
  /** Completes a Checkout as a paying customer would: the subscription is made and its events sent. */
  completeCheckout(sessionId: string): Promise<number[]>;
  /** The subscription's renewal fails: `invoice.payment_failed`, then the subscription goes `past_due`. */
  failPayment(subscriptionId: string): Promise<number[]>;
  /** An invoice is paid: `invoice.paid`, the subscription `active` again. */
  payInvoice(subscriptionId: string): Promise<number[]>;
  /** The subscription moves to another price (a plan change in the portal). */
  changePrice(subscriptionId: string, price: string): Promise<number[]>;
  /** The subscription ends (cancelled, or unpaid past Stripe's retries). */
  cancel(subscriptionId: string): Promise<number[]>;
  /** An event of the account with this object, as Stripe would send it (for forging and replaying in tests). */
  event(type: string, object: Record<string, unknown>): Record<string, unknown>;
  /** Sends an event to the webhook endpoint, signed with its secret (or `secret`, to forge it). */
  send(event: Record<string, unknown>, options?: { secret?: string }): Promise<Response>;
}

export function createFakeBillingAccount(
  baseUrl: () => string,
  secretKey: string,
): FakeBillingAccount & {
  handle(request: IncomingMessage, path: string, form: URLSearchParams, response: ServerResponse): boolean;
} {
  const id = (prefix: string) => `${prefix}_${randomBytes(8).toString("hex")}`;
  const idempotent = new Map<string, unknown>();
  const error = (message: string, code?: string) => ({ error: { type: "invalid_request_error", message, ...(code ? { code } : {}) } });
  const subscriptionObject = (subscription: FakeBillingAccount["subscriptions"][number]) => ({
    id: subscription.id,
    object: "subscription",
    customer: subscription.customer,
    status: subscription.status,
    items: {
      object: "list",
      data: [{ id: `si_${subscription.id.slice(4)}`, object: "subscription_item", price: { id: subscription.price, object: "price" } }],
    },
    metadata: {},
  });
  const find = (subscriptionId: string) => {
    const subscription = account.subscriptions.find((candidate) => candidate.id === subscriptionId);
    if (!subscription) throw new Error(`fake Stripe: no subscription ${subscriptionId}`);
    return subscription;
  };
  const sendAll = async (...events: Array<Record<string, unknown>>) => {
    const statuses: number[] = [];
    for (const event of events) statuses.push((await account.send(event)).status);
    return statuses;
  };
  const invoice = (subscription: FakeBillingAccount["subscriptions"][number], status: "paid" | "open") => ({
    id: id("in"),
    object: "invoice",
    customer: subscription.customer,
    status,
    amount_due: 4900,
    currency: "usd",
    parent: { type: "subscription_details", subscription_details: { subscription: subscription.id } },
  });

  const account = {
    secretKey,
    customers: [] as FakeBillingAccount["customers"],
    checkoutSessions: [] as FakeBillingAccount["checkoutSessions"],
    subscriptions: [] as FakeBillingAccount["subscriptions"],
    meterEvents: [] as FakeBillingAccount["meterEvents"],
    webhook: undefined as FakeBillingAccount["webhook"],
    event(type: string, object: Record<string, unknown>) {
      return {
        id: id("evt"),
        object: "event",
        api_version: "2025-03-31.basil",
        created: Math.floor(Date.now() / 1000),
        type,
        livemode: false,
        pending_webhooks: 1,
        data: { object },
      };
    },
    async send(event: Record<string, unknown>, options: { secret?: string } = {}) {
      if (!account.webhook) throw new Error("fake Stripe: the billing account has no webhook endpoint");
      const body = JSON.stringify(event);
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = createHmac("sha256", options.secret ?? account.webhook.secret)
        .update(`${timestamp}.${body}`)
        .digest("hex");
      return fetch(account.webhook.url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": `t=${timestamp},v1=${signature}` },
        body,
      });
    },
    async completeCheckout(sessionId: string) {
      const session = account.checkoutSessions.find((candidate) => candidate.id === sessionId);
      if (!session || session.status !== "open") throw new Error(`fake Stripe: no open checkout session ${sessionId}`);
      session.status = "complete";
      const subscription = { id: id("sub"), customer: session.customer, status: "active", price: session.price };
      account.subscriptions.push(subscription);
      return sendAll(
        account.event("checkout.session.completed", {
          id: session.id,
          object: "checkout.session",
          mode: "subscription",
          status: "complete",
          customer: session.customer,
          subscription: subscription.id,
          client_reference_id: session.clientReferenceId,
        }),
        account.event("customer.subscription.created", subscriptionObject(subscription)),
        account.event("invoice.paid", invoice(subscription, "paid")),
      );
    },
    async failPayment(subscriptionId: string) {
      const subscription = find(subscriptionId);
      subscription.status = "past_due";
      return sendAll(
        account.event("invoice.payment_failed", invoice(subscription, "open")),
        account.event("customer.subscription.updated", subscriptionObject(subscription)),
      );
    },
    async payInvoice(subscriptionId: string) {
      const subscription = find(subscriptionId);
      subscription.status = "active";
      return sendAll(
        account.event("invoice.paid", invoice(subscription, "paid")),
        account.event("customer.subscription.updated", subscriptionObject(subscription)),
      );
    },
    async changePrice(subscriptionId: string, price: string) {
      const subscription = find(subscriptionId);
      subscription.price = price;
      return sendAll(account.event("customer.subscription.updated", subscriptionObject(subscription)));
    },
    async cancel(subscriptionId: string) {
      const subscription = find(subscriptionId);
      subscription.status = "canceled";
      return sendAll(account.event("customer.subscription.deleted", subscriptionObject(subscription)));
    },
    /** Answers the account's routes; false for a request that is not the billing account's. */
    handle(request: IncomingMessage, path: string, form: URLSearchParams, response: ServerResponse): boolean {
      // The pages Checkout and the portal would show: visiting Checkout pays (the local stack's browser flow).
      const page = /^\/(checkout|portal)\/([A-Za-z0-9_]+)$/.exec(path);
      if (page && request.method === "GET") {
        const session = account.checkoutSessions.find((candidate) => candidate.id === page[2]);
        if (page[1] === "checkout" && session?.status === "open") {
          void account.completeCheckout(session.id).then(
            () => response.writeHead(303, { location: session.successUrl }).end(),
            (failure: unknown) => response.writeHead(502, { "content-type": "text/plain" }).end(String(failure)),
          );
          return true;
        }
        response
          .writeHead(200, { "content-type": "text/html" })
          .end("<!doctype html><title>Stripe (fake)</title><p>Nothing to pay here.</p>");
        return true;
      }
      if (request.headers.authorization !== `Bearer ${secretKey}` || request.headers["stripe-account"]) return false;
      const key = request.headers["idempotency-key"];
      const answer = (status: number, body: unknown) => {
        if (typeof key === "string" && status === 200) idempotent.set(`${path}:${key}`, body);
        sendJson(response, status, body);
        return true;
      };
      if (typeof key === "string" && idempotent.has(`${path}:${key}`)) return answer(200, idempotent.get(`${path}:${key}`));
      const metadata = Object.fromEntries(
        [...form].filter(([name]) => name.startsWith("metadata[")).map(([name, value]) => [name.slice(9, -1), value]),
      );
      if (path === "/v1/customers" && request.method === "POST") {
        const customer = { id: id("cus"), object: "customer", name: form.get("name") ?? "", metadata };
        account.customers.push(customer);
        return answer(200, customer);
      }
      if (path === "/v1/checkout/sessions" && request.method === "POST") {
        const customer = form.get("customer") ?? "";
        const price = form.get("line_items[0][price]") ?? "";
        if (!account.customers.some((candidate) => candidate.id === customer))
          return answer(400, error(`No such customer: '${customer}'`, "resource_missing"));
        if (!price.startsWith("price_")) return answer(400, error(`No such price: '${price}'`, "resource_missing"));
        if (form.get("mode") !== "subscription") return answer(400, error("mode must be subscription here"));
        const sessionId = id("cs_test");
        const session = {
          id: sessionId,
          url: `${baseUrl()}/checkout/${sessionId}`,
          customer,
          price,
          clientReferenceId: form.get("client_reference_id") ?? "",
          successUrl: form.get("success_url") ?? "",
          cancelUrl: form.get("cancel_url") ?? "",
          status: "open" as const,
        };
        account.checkoutSessions.push(session);
        return answer(200, {
          id: session.id,
          object: "checkout.session",
          url: session.url,
          mode: "subscription",
          customer,
          status: "open",
        });
      }
      if (path === "/v1/billing_portal/sessions" && request.method === "POST") {
        const customer = form.get("customer") ?? "";
        if (!account.customers.some((candidate) => candidate.id === customer))
          return answer(400, error(`No such customer: '${customer}'`, "resource_missing"));
        const sessionId = id("bps");
        return answer(200, {
          id: sessionId,
          object: "billing_portal.session",
          customer,
          url: `${baseUrl()}/portal/${sessionId}`,
          return_url: form.get("return_url"),
        });
      }
      if (path === "/v1/invoices/create_preview" && request.method === "POST") {
        const subscription = account.subscriptions.find((candidate) => candidate.id === form.get("subscription"));
        if (!subscription) return answer(400, error("No upcoming invoices for this customer.", "invoice_upcoming_none"));
        const used = account.meterEvents
          .filter((event) => event.customer === subscription.customer)
          .reduce((sum, event) => sum + event.value, 0);
        return answer(200, {
          object: "invoice",
          customer: subscription.customer,
          amount_due: 4900 + Math.ceil(used / 100_000),
          currency: "usd",
          period_end: Math.floor(Date.now() / 1000) + 30 * 86_400,
        });
      }
      if (path === "/v1/billing/meter_events" && request.method === "POST") {
        const identifier = form.get("identifier") ?? id("mev");
        const customer = form.get("payload[stripe_customer_id]") ?? "";
        const value = Number(form.get("payload[value]"));
        if (!account.customers.some((candidate) => candidate.id === customer)) return answer(400, error(`No such customer: '${customer}'`));
        if (!Number.isFinite(value)) return answer(400, error("payload[value] must be a number"));
        if (account.meterEvents.some((event) => event.identifier === identifier)) {
          return answer(400, error(`An event with identifier '${identifier}' already exists.`, "resource_already_exists"));
        }
        const timestamp = Number(form.get("timestamp") ?? Math.floor(Date.now() / 1000));
        account.meterEvents.push({ eventName: form.get("event_name") ?? "", identifier, customer, value, timestamp });
        return answer(200, {
          object: "billing.meter_event",
          event_name: form.get("event_name"),
          identifier,
          payload: { stripe_customer_id: customer, value: String(value) },
          timestamp,
        });
      }
      return false;
    },
  };
  return account;
}
