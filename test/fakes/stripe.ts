import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FailureScript, FakeOAuthServer, readBody, sendJson } from "./oauth-provider";

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
  requests: string[];
  failures: FailureScript;
  close(): Promise<void>;
}

/**
 * A loopback fake of Stripe: Connect OAuth (`/oauth/authorize`, `/oauth/token` authenticated with
 * the platform's secret key, `/oauth/deauthorize`) and the REST API the tools use through the
 * `stripe` SDK (customers and invoices lists, payment links and refunds create, form-encoded
 * bodies), authenticated by the platform key with `Stripe-Account` or by a restricted key, with
 * Stripe's error shape (`{ error: { type, message, code } }`).
 */
export async function startFakeStripe(options: { clientId: string; platformKey: string; port?: number }): Promise<FakeStripe> {
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
  const requests: string[] = [];
  const failures = new FailureScript();
  const id = (prefix: string) => `${prefix}_${randomBytes(8).toString("hex")}`;
  const stripeError = (type: string, message: string, code?: string) => ({ error: { type, message, ...(code ? { code } : {}) } });

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    const body = await readBody(request);
    if (path === "/oauth/authorize" && request.method === "GET") {
      const result = oauth.authorize(url);
      if ("redirect" in result) return response.writeHead(302, { location: result.redirect }).end();
      return response.writeHead(result.status, { "content-type": "text/plain" }).end(`${result.error}: ${result.description}`);
    }
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

    requests.push(`${request.method} ${path}`);
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
  return {
    url,
    oauth,
    connectedAccount,
    restrictedKey,
    customers,
    invoices,
    paymentLinks,
    refunds,
    deauthorized,
    requests,
    failures,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
