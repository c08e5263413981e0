import { UnavailableError } from "../errors";

/**
 * The platform's own Stripe account, for the admin API's billing verbs at the edge: customers,
 * Checkout and Customer Portal sessions, and the invoice preview. Over `fetch` with Stripe's
 * form-encoded bodies, because the edge does not bundle the Stripe SDK (wrangler.toml `[alias]`);
 * the pool reports usage with the SDK itself (workers/pool/billing.ts). Every write carries an
 * idempotency key, so a retried request never makes a second customer or session.
 */
export class BillingStripe {
  constructor(
    private readonly account: { secretKey: string; apiBase: string },
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  createCustomer(input: { tenantId: string; name: string; email?: string }): Promise<{ id: string }> {
    return this.#post(
      "/v1/customers",
      { name: input.name, ...(input.email ? { email: input.email } : {}), metadata: { tenantId: input.tenantId } },
      `customer:${input.tenantId}`,
    );
  }

  createCheckoutSession(input: {
    customer: string;
    price: string;
    tenantId: string;
    successUrl: string;
    cancelUrl: string;
    idempotencyKey: string;
  }): Promise<{ id: string; url: string }> {
    return this.#post(
      "/v1/checkout/sessions",
      {
        mode: "subscription",
        customer: input.customer,
        client_reference_id: input.tenantId,
        line_items: [{ price: input.price, quantity: 1 }],
        subscription_data: { metadata: { tenantId: input.tenantId } },
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
      },
      input.idempotencyKey,
    );
  }

  createPortalSession(input: { customer: string; returnUrl: string; idempotencyKey: string }): Promise<{ url: string }> {
    return this.#post("/v1/billing_portal/sessions", { customer: input.customer, return_url: input.returnUrl }, input.idempotencyKey);
  }

  /** The customer's next invoice as Stripe would draft it now (the subscription's next period and metered usage so far). */
  previewInvoice(input: { customer: string; subscription: string }): Promise<{
    amount_due: number;
    currency: string;
    period_end?: number;
    next_payment_attempt?: number | null;
  }> {
    return this.#post("/v1/invoices/create_preview", { customer: input.customer, subscription: input.subscription });
  }

  async #post<T>(path: string, params: Record<string, unknown>, idempotencyKey?: string): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.account.apiBase.replace(/\/+$/, "")}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.account.secretKey}`,
          "content-type": "application/x-www-form-urlencoded",
          ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
        },
        body: stripeForm(params).toString(),
        signal: AbortSignal.timeout(15_000),
      });
    } catch {
      throw new UnavailableError("BILLING_UNAVAILABLE", "Stripe could not be reached; try again shortly.");
    }
    const body = (await response.json().catch(() => ({}))) as T & { error?: { message?: string } };
    if (!response.ok) {
      throw new UnavailableError("BILLING_UNAVAILABLE", `Stripe refused the request: ${body.error?.message ?? `HTTP ${response.status}`}`);
    }
    return body;
  }
}

/** Stripe's form encoding: nested objects and arrays as `a[b][0][c]=…`. */
export function stripeForm(params: Record<string, unknown>): URLSearchParams {
  const form = new URLSearchParams();
  const add = (key: string, value: unknown) => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) value.forEach((item, index) => add(`${key}[${index}]`, item));
    else if (typeof value === "object") for (const [name, inner] of Object.entries(value)) add(`${key}[${name}]`, inner);
    else form.append(key, String(value));
  };
  for (const [key, value] of Object.entries(params)) add(key, value);
  return form;
}
