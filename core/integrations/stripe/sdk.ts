import type Stripe from "stripe";

/**
 * The official Stripe SDK aimed at `apiBase` (Stripe's own, or the loopback fake in tests and
 * `npm start`), loaded on first use: the pool's one way to build it, for tenants' connections
 * (core/integrations/stripe) and the platform's own billing account (workers/pool/billing.ts).
 */
export async function stripeSdk(secretKey: string, apiBase: string, options: Stripe.StripeConfig = {}): Promise<Stripe> {
  const { default: StripeClient } = await import("stripe");
  const api = new URL(apiBase);
  return new StripeClient(secretKey, {
    host: api.hostname,
    ...(api.port ? { port: Number(api.port) } : {}),
    protocol: api.protocol === "http:" ? "http" : "https",
    timeout: 15_000,
    ...options,
  });
}
