import { z } from "zod";

/**
 * What a plan allows. A number is a ceiling; null is no limit. Monthly counts reset on the first
 * of each month (UTC): `conversationsPerMonth` counts the conversations the agents answered that
 * month, `modelTokensPerMonth` the model tokens (input and output) of those answers.
 */
export const planLimits = z.object({
  conversationsPerMonth: z.number().int().min(0).nullable(),
  modelTokensPerMonth: z.number().int().min(0).nullable(),
  agents: z.number().int().min(0).nullable(),
  channels: z.number().int().min(0).nullable(),
  /** Members and pending invitations together. */
  seats: z.number().int().min(0).nullable(),
  /** The bytes of every knowledge source together, in megabytes. */
  knowledgeMegabytes: z.number().int().min(0).nullable(),
  /** Modules beyond the core: CRM and payment integrations, phone calls. */
  modules: z.object({ integrations: z.boolean(), voice: z.boolean() }),
});
export type PlanLimits = z.infer<typeof planLimits>;
export type PlanLimit = Exclude<keyof PlanLimits, "modules">;
export type PlanModule = keyof PlanLimits["modules"];

export const COUNTED_LIMITS = ["agents", "channels", "seats", "knowledgeMegabytes"] as const satisfies readonly PlanLimit[];
export const MONTHLY_LIMITS = ["conversationsPerMonth", "modelTokensPerMonth"] as const satisfies readonly PlanLimit[];
/** Every limit, the monthly ones first (the order `GET /v1/billing` lists them in). */
export const PLAN_LIMITS = [...MONTHLY_LIMITS, ...COUNTED_LIMITS] as const;

export const plan = z.object({
  name: z.string().min(1).max(60),
  /** Shown in the console and used for the invoice estimate without Stripe; Stripe's price is what is charged. */
  monthlyPriceUsd: z.number().min(0),
  limits: planLimits,
  /** The Stripe Price of the subscription (the platform's own Stripe account); a plan without one cannot be bought through Checkout. */
  stripePriceId: z.string().min(1).optional(),
});
export type Plan = z.infer<typeof plan>;

export const FREE_PLAN = "free";
export const planId = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "a plan id is lower-case letters, digits, - and _");

/** The plans in configuration: `BILLING_PLANS` (JSON, the same shape) replaces these defaults; `free` must exist. */
export const plansConfig = z
  .record(planId, plan)
  .refine((plans) => FREE_PLAN in plans, { message: `the "${FREE_PLAN}" plan must be defined: it is where unpaid tenants fall back` });
export type PlansConfig = z.infer<typeof plansConfig>;

export const DEFAULT_PLANS: PlansConfig = {
  free: {
    name: "Free",
    monthlyPriceUsd: 0,
    limits: {
      conversationsPerMonth: 100,
      modelTokensPerMonth: 200_000,
      agents: 1,
      channels: 2,
      seats: 2,
      knowledgeMegabytes: 10,
      modules: { integrations: false, voice: false },
    },
  },
  pro: {
    name: "Pro",
    monthlyPriceUsd: 49,
    limits: {
      conversationsPerMonth: 2_000,
      modelTokensPerMonth: 5_000_000,
      agents: 5,
      channels: 10,
      seats: 10,
      knowledgeMegabytes: 500,
      modules: { integrations: true, voice: false },
    },
  },
  business: {
    name: "Business",
    monthlyPriceUsd: 299,
    limits: {
      conversationsPerMonth: 20_000,
      modelTokensPerMonth: 50_000_000,
      agents: 50,
      channels: 100,
      seats: 100,
      knowledgeMegabytes: 10_000,
      modules: { integrations: true, voice: true },
    },
  },
};

/** The plans from `BILLING_PLANS` (JSON), or the defaults; throws with the issues when the JSON is wrong (checked at start-up). */
export function readPlans(json: string | undefined): PlansConfig {
  if (!json?.trim()) return DEFAULT_PLANS;
  const parsed = plansConfig.safeParse(JSON.parse(json));
  if (!parsed.success) throw new Error(`BILLING_PLANS: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** What the tenant's billing row says (db/schema/tenants.ts). */
export interface TenantBilling {
  plan: string;
  /** An operator's grant: replaces the plan's limits while set. */
  customLimits: PlanLimits | null;
  subscriptionStatus: string | null;
  paymentFailedAt: Date | null;
}

/** Days a tenant keeps its paid plan after a failed payment before falling back to the free plan's limits. */
export const GRACE_DAYS = 7;

export interface EffectivePlan {
  /** The plan the tenant has (what it pays for). */
  plan: string;
  name: string;
  limits: PlanLimits;
  /** Why the limits are not the plan's own: an operator's grant, or the free plan's after the grace period. */
  basis: "plan" | "custom" | "grace_expired";
  /** Set while a failed payment's grace period runs or has run out. */
  graceEndsAt: Date | null;
}

/**
 * The limits that apply now: an operator's custom grant, else the plan's; once a failed payment's
 * grace period has passed (and no later payment cleared it), the free plan's. Data is never
 * removed: only what can be added or answered is limited.
 */
export function effectivePlan(billing: TenantBilling, plans: PlansConfig, now: Date): EffectivePlan {
  const free = plans[FREE_PLAN]!;
  const own = plans[billing.plan] ?? free;
  const graceEndsAt = billing.paymentFailedAt ? new Date(billing.paymentFailedAt.getTime() + GRACE_DAYS * 86_400_000) : null;
  if (graceEndsAt && now >= graceEndsAt && billing.plan !== FREE_PLAN) {
    return { plan: billing.plan, name: own.name, limits: free.limits, basis: "grace_expired", graceEndsAt };
  }
  if (billing.customLimits) return { plan: billing.plan, name: own.name, limits: billing.customLimits, basis: "custom", graceEndsAt };
  return { plan: billing.plan, name: own.name, limits: own.limits, basis: "plan", graceEndsAt };
}
