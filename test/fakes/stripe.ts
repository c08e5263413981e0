import { createHmac, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FailureScript, FakeOAuthServer, readBody, sendJson } from "./oauth-provider";
import { createFakeBillingAccount, type FakeBillingAccount } from "./stripe-billing";

export interface FakeStripe {
  /** STRIPE_API_BASE and STRIPE_CONNECT_BASE: both are this server. */
  url: string;
  oauth: FakeOAuthServer;
  /** The connected account the Connect flow answers (`stripe_user_id`). */
  connectedAccount: string;
  /** A restricted key the fake accepts (acting on its own account). */
  restrictedKey: string;
  customers: Array<Record<string, unknown>>;
  invoices: Array<Record<string, unknown>>;
  paymentLinks: Array<Record<string, unknown>>;
  refunds: Array<Record<string, unknown>>;
  deauthorized: string[];
  /** Webhook endpoints registered on the account (ours: one per connection). */
  webhookEndpoints: Array<{ id: string; url: string; secret: string; enabledEvents: string[]; account?: string }>;
  requests: string[];
  failures: FailureScript;
  /** The platform's own account as Stripe Billing (test/fakes/stripe-billing.ts), with `billingKey` as its secret key. */
  billing: FakeBillingAccount;
  /**
   * Delivers an event to a registered endpoint as Stripe does: `Stripe-Signature: t=…,v1=…` over
   * `<t>.<body>` with the endpoint's secret. `secret` and `timestamp` override, to forge or age it.
   */
  deliver(
    endpoint: { url: string; secret: string },
    event: Record<string, unknown>,
    options?: { secret?: string; timestamp?: number; body?: string },
  ): Promise<Response>;
  /** The two events Stripe sends when a payment link is paid: `checkout.session.completed`, then `payment_intent.succeeded`. */
  paymentEvents(linkId: string, amount: number, currency?: string): [Record<string, unknown>, Record<string, unknown>];
  close(): Promise<void>;
}

/**
 * A loopback fake of Stripe: Connect OAuth (`/oauth/authorize`, `/oauth/token` authenticated with
 * the platform's secret key, `/oauth/deauthorize`) and the REST API the tools use through the
 * `stripe` SDK (customers and invoices lists, payment links and refunds create, form-encoded
 * bodies), authenticated by the platform key with `Stripe-Account` or by a restricted key, with
 * Stripe's error shape (`{ error: { type, message, code } }`).
 */
export async function startFakeStripe(options: {
  clientId: string;
  platformKey: string;
  /** The platform's billing key (BILLING_STRIPE_SECRET_KEY); default `sk_test_billing`. */
  billingKey?: string;
  port?: number;
}): Promise<FakeStripe> {
  const connectedAccount = `acct_${randomBytes(8).toString("hex")}`;
  const restrictedKey = `rk_test_${randomBytes(16).toString("hex")}`;
  const oauth = new FakeOAuthServer({
    clientId: options.clientId,
    clientSecret: options.platformKey,
    pkce: "optional",
    tokenExtras: () => ({ stripe_user_id: connectedAccount, stripe_publishable_key: "pk_test_fake", livemode: false }),
  });
  const customers: Array<Record<string, unknown>> = [];
  const invoices: Array<Record<string, unknown>> = [];
  const paymentLinks: Array<Record<string, unknown>> = [];
  const refunds: Array<Record<string, unknown>> = [];
  const deauthorized: string[] = [];
  const webhookEndpoints: FakeStripe["webhookEndpoints"] = [];
  const requests: string[] = [];
  const failures = new FailureScript();
  const id = (prefix: string) => `${prefix}_${randomBytes(8).toString("hex")}`;
  const stripeError = (type: string, message: string, code?: string) => ({ error: { type, message, ...(code ? { code } : {}) } });
  const billing = createFakeBillingAccount(() => fake.url, options.billingKey ?? "sk_test_billing");

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    const body = await readBody(request);
    if (path === "/oauth/authorize" && request.method === "GET") return oauth.answerAuthorize(url, response);
    if (path === "/oauth/token" && request.method === "POST") {
      const answer = await oauth.token(new URLSearchParams(body), request.headers.authorization);
      return sendJson(response, answer.status, answer.body);
    }
    if (path === "/oauth/deauthorize" && request.method === "POST") {
      const form = new URLSearchParams(body);
      if (request.headers.authorization !== `Bearer ${options.platformKey}` || form.get("client_id") !== options.clientId)
        return sendJson(response, 401, stripeError("invalid_request_error", "Invalid API Key provided"));
      deauthorized.push(form.get("stripe_user_id") ?? "");
      return sendJson(response, 200, { stripe_user_id: form.get("stripe_user_id") });
    }

    if (path === "/_fake/pay" && request.method === "POST") {
      // For `npm run integrations -- pay <link>`: as if someone paid the link; Stripe's two events go to every endpoint registered.
      // The link by id, by its URL, or `latest`.
      const asked = url.searchParams.get("link") ?? "";
      const linkId = String(
        (asked === "latest" ? paymentLinks.at(-1) : paymentLinks.find((l) => l.id === asked || l.url === asked))?.id ?? asked,
      );
      if (!paymentLinks.some((l) => l.id === linkId))
        return sendJson(response, 404, stripeError("invalid_request_error", `No such payment link: '${linkId}'`));
      const events = fake.paymentEvents(linkId, Number(url.searchParams.get("amount") ?? 4900));
      const statuses: number[] = [];
      for (const endpoint of webhookEndpoints) for (const event of events) statuses.push((await fake.deliver(endpoint, event)).status);
      return sendJson(response, 200, { delivered: statuses });
    }
    requests.push(`${request.method} ${path}`);
    if (billing.handle(request, path, new URLSearchParams(body), response)) return;
    const authorization = request.headers.authorization ?? "";
    const account = request.headers["stripe-account"];
    const asPlatform =
      authorization === `Bearer ${options.platformKey}` && account === connectedAccount && !deauthorized.includes(connectedAccount);
    if (!asPlatform && authorization !== `Bearer ${restrictedKey}`)
      return sendJson(response, 401, stripeError("invalid_request_error", "Invalid API Key provided: rk_test_****"));
    const failure = failures.take();
    if (failure)
      return sendJson(
        response,
        failure.status,
        stripeError(
          failure.status === 429 ? "rate_limit_error" : "api_error",
          failure.status === 429 ? "Too many requests" : "scripted failure",
        ),
        failure.retryAfter ? { "retry-after": failure.retryAfter } : {},
      );
    const form = new URLSearchParams(body);

    if (path === "/v1/customers" && request.method === "GET") {
      const email = url.searchParams.get("email");
      const data = customers.filter((c) => !email || c.email === email).slice(0, Number(url.searchParams.get("limit") ?? 10));
      return sendJson(response, 200, { object: "list", url: "/v1/customers", has_more: false, data });
    }
    if (path === "/v1/invoices" && request.method === "GET") {
      const customer = url.searchParams.get("customer");
      const data = invoices.filter((i) => !customer || i.customer === customer).slice(0, Number(url.searchParams.get("limit") ?? 10));
      return sendJson(response, 200, { object: "list", url: "/v1/invoices", has_more: false, data });
    }
    if (path === "/v1/payment_links" && request.method === "POST") {
      const price = form.get("line_items[0][price]");
      if (!price?.startsWith("price_"))
        return sendJson(response, 400, stripeError("invalid_request_error", "No such price", "resource_missing"));
      const link = {
        id: id("plink"),
        object: "payment_link",
        active: true,
        url: `https://buy.stripe.com/test_${randomBytes(6).toString("hex")}`,
        metadata: Object.fromEntries([...form].filter(([k]) => k.startsWith("metadata[")).map(([k, v]) => [k.slice(9, -1), v])),
        line_items: { price, quantity: Number(form.get("line_items[0][quantity]") ?? 1) },
      };
      paymentLinks.push(link);
      return sendJson(response, 200, link);
    }
    if (path === "/v1/webhook_endpoints" && request.method === "POST") {
      const endpoint = {
        id: id("we"),
        url: form.get("url") ?? "",
        secret: `whsec_${randomBytes(24).toString("base64url")}`,
        enabledEvents: form.getAll("enabled_events[]"),
        ...(typeof account === "string" ? { account } : {}),
      };
      if (!endpoint.url.startsWith("http")) return sendJson(response, 400, stripeError("invalid_request_error", "Invalid URL: url"));
      webhookEndpoints.push(endpoint);
      return sendJson(response, 200, {
        id: endpoint.id,
        object: "webhook_endpoint",
        url: endpoint.url,
        enabled_events: endpoint.enabledEvents,
        secret: endpoint.secret,
        status: "enabled",
      });
    }
    const endpointPath = /^\/v1\/webhook_endpoints\/(we_[a-f0-9]+)$/.exec(path);
    if (endpointPath) {
      const index = webhookEndpoints.findIndex((e) => e.id === endpointPath[1]);
      if (index < 0)
        return sendJson(
          response,
          404,
          stripeError("invalid_request_error", `No such webhook endpoint: '${endpointPath[1]}'`, "resource_missing"),
        );
      if (request.method === "DELETE") {
        webhookEndpoints.splice(index, 1);
        return sendJson(response, 200, { id: endpointPath[1], object: "webhook_endpoint", deleted: true });
      }
      if (request.method === "POST") {
        if (form.get("url")) webhookEndpoints[index]!.url = form.get("url")!;
        return sendJson(response, 200, { id: endpointPath[1], object: "webhook_endpoint", url: webhookEndpoints[index]!.url });
      }
    }
    if (path === "/v1/refunds" && request.method === "POST") {
      const refund = {
        id: id("re"),
        object: "refund",
        amount: Number(form.get("amount") ?? 2500),
        currency: "eur",
        status: "succeeded",
        payment_intent: form.get("payment_intent"),
      };
      refunds.push(refund);
      return sendJson(response, 200, refund);
    }
    return sendJson(response, 404, stripeError("invalid_request_error", `Unrecognized request URL (${request.method}: ${path}).`));
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fake: FakeStripe = {
    url,
    oauth,
    connectedAccount,
    restrictedKey,
    customers,
    invoices,
    paymentLinks,
    refunds,
    deauthorized,
    webhookEndpoints,
    requests,
    failures,
    billing,
    async deliver(endpoint, event, options = {}) {
      const body = options.body ?? JSON.stringify(event);
      const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
      const signature = createHmac("sha256", options.secret ?? endpoint.secret)
        .update(`${timestamp}.${body}`)
        .digest("hex");
      return fetch(endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "stripe-signature": `t=${timestamp},v1=${signature}`,
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
        body,
      });
    },
    paymentEvents(linkId, amount, currency = "eur") {
      const link = paymentLinks.find((l) => l.id === linkId);
      const metadata = (link?.metadata ?? {}) as Record<string, string>;
      const paymentIntent = id("pi");
      const created = Math.floor(Date.now() / 1000);
      const event = (type: string, object: Record<string, unknown>) => ({
        id: id("evt"),
        object: "event",
        api_version: "2025-01-27.acacia",
        created,
        type,
        livemode: false,
        account: connectedAccount,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        data: { object },
      });
      return [
        event("checkout.session.completed", {
          id: id("cs_test"),
          object: "checkout.session",
          amount_total: amount,
          currency,
          mode: "payment",
          payment_intent: paymentIntent,
          payment_link: linkId,
          payment_status: "paid",
          status: "complete",
          metadata,
        }),
        event("payment_intent.succeeded", {
          id: paymentIntent,
          object: "payment_intent",
          amount,
          amount_received: amount,
          currency,
          status: "succeeded",
          metadata,
        }),
      ];
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
