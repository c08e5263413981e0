import type Stripe from "stripe";
import { stripeSdk } from "./sdk";
import { z } from "zod";
import { base } from "../config";
import { errorFromResponse, providerJson } from "../http";
import type { IntegrationProvider } from "../types";
import { stripeTools } from "./tools";
import { stripeHeaders, stripeWebhook } from "./webhook";

/**
 * Stripe: Stripe Connect OAuth (the tenant's account is connected to the platform; calls use the
 * platform's secret key with `Stripe-Account`, as Stripe recommends over the legacy access token,
 * and nothing expires), or a restricted key the tenant creates with just the permissions the tools
 * need. Tools through the official `stripe` SDK, its host pointed at STRIPE_API_BASE.
 */
export const stripe: IntegrationProvider<Stripe> = {
  id: "stripe",
  name: "Stripe",
  description: "Look up customers and their invoices, and send payment links (after the person confirms) from the tenant's Stripe account.",
  docsUrl: "https://docs.stripe.com/keys#create-restricted-api-secret-key",
  oauth: {
    pkce: false,
    scopes: [],
    authorizeParams: { scope: "read_write" },
    authorizationEndpoint: (config) => `${base(config.STRIPE_CONNECT_BASE)}/oauth/authorize`,
    tokenEndpoint: (config) => `${base(config.STRIPE_CONNECT_BASE)}/oauth/token`,
    app: (config) =>
      config.STRIPE_CLIENT_ID && config.STRIPE_SECRET_KEY
        ? { clientId: config.STRIPE_CLIENT_ID, clientSecret: config.STRIPE_SECRET_KEY }
        : undefined,
    credentials: (response, _config, previous) => ({
      accessToken: response.access_token,
      ...(typeof response.stripe_user_id === "string"
        ? { accountId: response.stripe_user_id }
        : previous?.accountId
          ? { accountId: previous.accountId }
          : {}),
      ...((response.refresh_token ?? previous?.refreshToken) ? { refreshToken: response.refresh_token ?? previous?.refreshToken } : {}),
    }),
  },
  token: {
    label: "Restricted API key",
    fields: z.object({
      accessToken: z
        .string()
        .trim()
        .regex(/^rk_(live|test)_[A-Za-z0-9]{10,}$/, "a restricted key (rk_live_… or rk_test_…); never the account's full secret key"),
    }),
    exchange: async (fields) => ({ credentials: { accessToken: fields.accessToken! } }),
  },
  settings: z.object({}).strict(),
  async probe(access, http) {
    await providerJson("Stripe", http.fetch, `${base(http.config.STRIPE_API_BASE)}/v1/customers?limit=1`, {
      headers: stripeHeaders(access),
    });
    const key = access.accountId && access.config.STRIPE_SECRET_KEY ? access.config.STRIPE_SECRET_KEY : access.accessToken;
    return { id: access.accountId ?? `restricted key …${access.accessToken.slice(-4)}`, livemode: key.includes("_live_") };
  },
  async revoke(credentials, http) {
    const app = stripe.oauth.app(http.config);
    if (!credentials.accountId || !app) return false;
    const response = await http.fetch(`${base(http.config.STRIPE_CONNECT_BASE)}/oauth/deauthorize`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.clientSecret}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: app.clientId, stripe_user_id: credentials.accountId }).toString(),
      signal: AbortSignal.timeout(15_000),
    });
    return response.ok;
  },
  async client(access, config) {
    const connect = access.accountId && config.STRIPE_SECRET_KEY;
    return stripeSdk(connect ? config.STRIPE_SECRET_KEY! : access.accessToken, config.STRIPE_API_BASE, {
      // Retries are ours (one place honours Retry-After for every provider).
      maxNetworkRetries: 0,
      ...(connect ? { stripeAccount: access.accountId } : {}),
    });
  },
  sdkError(error) {
    const failure = error as { statusCode?: unknown; message?: unknown; headers?: Record<string, string>; type?: unknown };
    if (typeof failure?.statusCode !== "number" || typeof failure.type !== "string") return undefined;
    return errorFromResponse("Stripe", failure.statusCode, failure.headers?.["retry-after"], { error: { message: failure.message } });
  },
  tools: stripeTools,
  webhook: stripeWebhook,
};
