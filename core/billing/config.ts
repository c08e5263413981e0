import { z } from "zod";
import { ENDPOINT_DEFAULTS } from "../endpoints";
import { readPlans, type PlansConfig } from "./plans";

/**
 * Billing's configuration, the same at the edge and in the pool: the plans (BILLING_PLANS, JSON;
 * the defaults in plans.ts otherwise) and the platform's own Stripe account, which charges the
 * tenants (not a tenant's Stripe integration): its secret key, the signing secret of its webhook
 * endpoint (`/webhooks/stripe/billing`) and the billing meter usage is reported to. Without the
 * key the plans still apply (an operator grants them) and checkout answers 503.
 */
export const billingEnv = {
  BILLING_PLANS: z.preprocess(
    (value) => (value === "" ? undefined : value),
    z
      .string()
      .optional()
      .superRefine((json, ctx) => {
        try {
          readPlans(json);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : "BILLING_PLANS is not valid JSON" });
        }
      }),
  ),
  BILLING_STRIPE_SECRET_KEY: z.preprocess((value) => (value === "" ? undefined : value), z.string().min(1).optional()),
  BILLING_STRIPE_WEBHOOK_SECRET: z.preprocess((value) => (value === "" ? undefined : value), z.string().min(1).optional()),
  /** The event name of the Stripe billing meter model tokens are reported to. */
  BILLING_METER_EVENT: z
    .string()
    .regex(/^[a-z0-9_]{1,100}$/)
    .default("agent_model_tokens"),
};

export interface BillingConfig {
  plans: PlansConfig;
  /** The platform's Stripe account; absent: no checkout, portal or usage reports. */
  stripe?: { secretKey: string; apiBase: string; webhookSecret?: string };
  meterEvent: string;
}

export function billingConfig(env: {
  BILLING_PLANS?: string | undefined;
  BILLING_STRIPE_SECRET_KEY?: string | undefined;
  BILLING_STRIPE_WEBHOOK_SECRET?: string | undefined;
  BILLING_METER_EVENT?: string | undefined;
  STRIPE_API_BASE?: string | undefined;
}): BillingConfig {
  return {
    plans: readPlans(env.BILLING_PLANS),
    ...(env.BILLING_STRIPE_SECRET_KEY
      ? {
          stripe: {
            secretKey: env.BILLING_STRIPE_SECRET_KEY,
            apiBase: env.STRIPE_API_BASE ?? ENDPOINT_DEFAULTS.STRIPE_API_BASE,
            ...(env.BILLING_STRIPE_WEBHOOK_SECRET ? { webhookSecret: env.BILLING_STRIPE_WEBHOOK_SECRET } : {}),
          },
        }
      : {}),
    meterEvent: env.BILLING_METER_EVENT ?? "agent_model_tokens",
  };
}
