import { and, desc, eq, gte, like, sql } from "drizzle-orm";
import { z } from "zod";
import { alerts, tenants } from "../../db/schema";
import type { AccessContext } from "../access/context";
import { recordAudit } from "../access/audit";
import { requirePermission } from "../access/permissions";
import { budgetMonth } from "../engine/budget";
import { ConflictError, DomainError, InvalidRequestError, parseOrThrow, UnavailableError } from "../errors";
import { readTenantSettings } from "../tenants/settings";
import { plansOf, readPlanUsage, readTenantBilling } from "./limits";
import { effectivePlan, FREE_PLAN, PLAN_LIMITS, planLimits, type PlanLimit } from "./plans";
import { BillingStripe } from "./stripe";

const limitUsage = z.object({
  limit: z.enum(PLAN_LIMITS),
  /** Null: no limit. */
  allowed: z.number().nullable(),
  used: z.number(),
  /** Of the limit, rounded; null without a limit. */
  percent: z.number().nullable(),
});

export const billingDto = z.object({
  plan: z.object({ id: z.string(), name: z.string(), monthlyPriceUsd: z.number() }),
  /** `custom`: an operator's grant; `grace_expired`: a payment failed long enough ago that the free plan's limits apply. */
  basis: z.enum(["plan", "custom", "grace_expired"]),
  limits: planLimits,
  /** Each limit against what is used now (the monthly ones this calendar month, UTC). */
  usage: z.array(limitUsage),
  subscription: z.object({ status: z.string() }).nullable(),
  /** Set after a failed payment until an invoice is paid: when the paid plan's limits stop applying. */
  grace: z.object({ paymentFailedAt: z.string(), endsAt: z.string() }).nullable(),
  /** From Stripe's invoice preview when subscribed; else the plan's price. */
  nextInvoice: z
    .object({ amountDue: z.number(), currency: z.string(), periodEnd: z.string().nullable(), source: z.enum(["stripe", "plan"]) })
    .nullable(),
  /** This month, day by day (UTC): model tokens and conversations answered, for the console's chart. */
  daily: z.array(z.object({ day: z.string(), tokens: z.number(), conversations: z.number() })),
  /** This month's usage alerts (80 and 100 percent of a monthly limit), newest first; each is also emailed to the admins. */
  alerts: z.array(z.object({ kind: z.string(), limit: z.string(), percent: z.number(), createdAt: z.string() })),
  /** The plans there are, and whether Checkout can sell each. */
  plans: z.array(z.object({ id: z.string(), name: z.string(), monthlyPriceUsd: z.number(), limits: planLimits, purchasable: z.boolean() })),
});
export type BillingDto = z.infer<typeof billingDto>;

/** The tenant's plan, limits and usage against each, subscription, grace period and next invoice. */
export async function getBilling({ ctx }: { ctx: AccessContext; input?: undefined }): Promise<BillingDto> {
  requirePermission(ctx, "billing:read");
  const now = new Date();
  const plans = plansOf(ctx);
  const billing = await readTenantBilling(ctx.tx, ctx.tenantId);
  const current = effectivePlan(billing, plans, now);
  const usage = await readPlanUsage(ctx.tx, ctx.tenantId, now);
  const own = plans[current.plan] ?? plans[FREE_PLAN]!;
  return {
    plan: { id: current.plan, name: current.name, monthlyPriceUsd: own.monthlyPriceUsd },
    basis: current.basis,
    limits: current.limits,
    usage: PLAN_LIMITS.map((limit) => usageOf(limit, current.limits[limit], usage)),
    subscription: billing.subscriptionStatus ? { status: billing.subscriptionStatus } : null,
    grace:
      billing.paymentFailedAt && current.graceEndsAt
        ? { paymentFailedAt: billing.paymentFailedAt.toISOString(), endsAt: current.graceEndsAt.toISOString() }
        : null,
    nextInvoice: await nextInvoice(ctx, billing.stripeCustomerId, billing.stripeSubscriptionId, own.monthlyPriceUsd, now),
    daily: await dailyUsage(ctx, now),
    alerts: await planAlerts(ctx, now),
    plans: Object.entries(plans).map(([id, plan]) => ({
      id,
      name: plan.name,
      monthlyPriceUsd: plan.monthlyPriceUsd,
      limits: plan.limits,
      purchasable: plan.stripePriceId !== undefined,
    })),
  };
}

function usageOf(limit: PlanLimit, allowed: number | null, usage: Record<PlanLimit, number>): z.infer<typeof limitUsage> {
  const used = limit === "knowledgeMegabytes" ? Math.round(usage[limit] * 100) / 100 : usage[limit];
  return {
    limit: limit as z.infer<typeof limitUsage>["limit"],
    allowed,
    used,
    percent: allowed ? Math.round((used / allowed) * 100) : null,
  };
}

async function nextInvoice(
  ctx: AccessContext,
  customer: string | null,
  subscription: string | null,
  monthlyPriceUsd: number,
  now: Date,
): Promise<BillingDto["nextInvoice"]> {
  const stripe = ctx.services?.billing?.stripe;
  if (stripe && customer && subscription) {
    // An estimate only: if Stripe cannot draft it now, the page still shows everything else.
    const preview = await new BillingStripe(stripe).previewInvoice({ customer, subscription }).catch(() => undefined);
    if (preview)
      return {
        amountDue: preview.amount_due / 100,
        currency: preview.currency,
        periodEnd: preview.period_end ? new Date(preview.period_end * 1000).toISOString() : null,
        source: "stripe",
      };
  }
  if (monthlyPriceUsd === 0) return null;
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { amountDue: monthlyPriceUsd, currency: "usd", periodEnd: next.toISOString(), source: "plan" };
}

async function planAlerts(ctx: AccessContext, now: Date): Promise<BillingDto["alerts"]> {
  const rows = await ctx.tx
    .select({ kind: alerts.kind, details: alerts.details, createdAt: alerts.createdAt })
    .from(alerts)
    .where(and(eq(alerts.tenantId, ctx.tenantId), like(alerts.kind, "plan.%"), gte(alerts.createdAt, budgetMonth(now).start)))
    .orderBy(desc(alerts.createdAt))
    .limit(10);
  return rows.map((row) => {
    const details = row.details as { limit?: string; percent?: number };
    return { kind: row.kind, limit: details.limit ?? "", percent: details.percent ?? 0, createdAt: row.createdAt.toISOString() };
  });
}

async function dailyUsage(ctx: AccessContext, now: Date): Promise<BillingDto["daily"]> {
  const since = budgetMonth(now).start.toISOString();
  const result = await ctx.tx.execute<{ day: string; tokens: string; conversations: number }>(sql`
    select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day,
           coalesce(sum(input_tokens + output_tokens), 0)::text as tokens,
           (count(distinct conversation_id) filter (where outcome in ('answered', 'all_failed', 'cancelled')))::int as conversations
    from usage_records
    where tenant_id = ${ctx.tenantId} and created_at >= ${since}::timestamptz
    group by 1 order by 1`);
  return result.rows.map((row) => ({ day: row.day, tokens: Number(row.tokens), conversations: Number(row.conversations) }));
}

export const checkoutInput = z
  .object({
    plan: z.string().min(1).max(32),
    /** Where Stripe sends the admin back: our console by default; else an origin the tenant allows (its Bubble app). */
    returnUrl: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional(),
  })
  .strict();
export const portalInput = z
  .object({
    returnUrl: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional(),
  })
  .strict();

/**
 * A Stripe Checkout session for a paid plan: the tenant becomes a customer of the platform's
 * account on its first checkout (one customer per tenant, kept on the tenant), and the webhook
 * moves the plan once Stripe confirms the subscription. A tenant that already pays changes plans
 * in the Customer Portal.
 */
export async function startCheckout({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof checkoutInput> & { consoleUrl: string };
}): Promise<{ url: string; sessionId: string }> {
  requirePermission(ctx, "billing:write");
  const plans = plansOf(ctx);
  const plan = plans[input.plan];
  if (!plan) throw new InvalidRequestError(`No such plan: ${input.plan}. Plans: ${Object.keys(plans).join(", ")}.`);
  if (!plan.stripePriceId) throw new DomainError("PLAN_NOT_PURCHASABLE", 422, `The ${plan.name} plan is not sold through Checkout.`);
  const stripe = stripeOf(ctx);
  const billing = await readTenantBilling(ctx.tx, ctx.tenantId);
  const [tenant] = await ctx.tx
    .select({ name: tenants.name, settings: tenants.settings })
    .from(tenants)
    .where(eq(tenants.id, ctx.tenantId));
  if (billing.stripeSubscriptionId && billing.subscriptionStatus !== "canceled") {
    throw new ConflictError("The tenant already has a subscription: change plans in the billing portal (POST /v1/billing/portal).");
  }
  const back = returnTo(input.returnUrl, input.consoleUrl, readTenantSettings(tenant?.settings).allowedOrigins);
  const customer = billing.stripeCustomerId ?? (await newCustomer(ctx, stripe, tenant?.name ?? ctx.tenantId));
  const session = await stripe.createCheckoutSession({
    customer,
    price: plan.stripePriceId,
    tenantId: ctx.tenantId,
    successUrl: withParam(back, "checkout", "success"),
    cancelUrl: withParam(back, "checkout", "cancelled"),
    // One session per tenant, plan and minute: a double click gets the same page.
    idempotencyKey: `checkout:${ctx.tenantId}:${input.plan}:${Math.floor(Date.now() / 60_000)}`,
  });
  await recordAudit(ctx, { action: "billing.checkout", resourceType: "tenant", resourceId: ctx.tenantId, after: { plan: input.plan } });
  return { url: session.url, sessionId: session.id };
}

/** A Customer Portal session: payment methods, invoices, plan changes and cancellation, at Stripe. */
export async function openBillingPortal({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof portalInput> & { consoleUrl: string };
}): Promise<{ url: string }> {
  requirePermission(ctx, "billing:write");
  const stripe = stripeOf(ctx);
  const billing = await readTenantBilling(ctx.tx, ctx.tenantId);
  if (!billing.stripeCustomerId) throw new ConflictError("The tenant has not subscribed yet: start with POST /v1/billing/checkout.");
  const [tenant] = await ctx.tx.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, ctx.tenantId));
  const back = returnTo(input.returnUrl, input.consoleUrl, readTenantSettings(tenant?.settings).allowedOrigins);
  return stripe.createPortalSession({
    customer: billing.stripeCustomerId,
    returnUrl: back,
    idempotencyKey: `portal:${ctx.tenantId}:${Math.floor(Date.now() / 60_000)}`,
  });
}

function stripeOf(ctx: AccessContext): BillingStripe {
  const stripe = ctx.services?.billing?.stripe;
  if (!stripe) throw new UnavailableError("BILLING_UNAVAILABLE", "Billing is not configured on this deployment.");
  return new BillingStripe(stripe);
}

/** The tenant's customer at the platform's Stripe account, made once and kept (a concurrent first checkout reuses Stripe's idempotent answer). */
async function newCustomer(ctx: AccessContext, stripe: BillingStripe, name: string): Promise<string> {
  const customer = await stripe.createCustomer({ tenantId: ctx.tenantId, name });
  await ctx.tx
    .update(tenants)
    .set({ stripeCustomerId: customer.id, updatedAt: sql`now()` })
    .where(eq(tenants.id, ctx.tenantId));
  return customer.id;
}

/** Only our console or an origin the tenant allows: Stripe's redirect must not be an open one. */
function returnTo(requested: string | undefined, consoleUrl: string, allowedOrigins: readonly string[]): string {
  if (!requested) return consoleUrl;
  const origin = new URL(requested).origin;
  if (origin === new URL(consoleUrl).origin || allowedOrigins.includes(origin)) return requested;
  throw new InvalidRequestError("returnUrl must be on the console or one of the tenant's allowed origins.");
}

function withParam(url: string, name: string, value: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  return parsed.toString();
}

export const grantPlanInput = z
  .object({
    plan: z.string().min(1).max(32).optional(),
    /** The operator's custom limits for this tenant; null removes them (the plan's apply again). */
    limits: planLimits.nullable().optional(),
  })
  .strict();

/**
 * The platform operator's grant (`npm run plan`, never the tenant's API): a plan without Checkout,
 * or custom limits over the plan's. Audited like every change. A later Stripe subscription event
 * sets the plan it pays for; custom limits stay until removed.
 */
export async function grantPlan({ ctx, input: raw }: { ctx: AccessContext; input: z.infer<typeof grantPlanInput> }): Promise<BillingDto> {
  if (ctx.actor.type !== "system") throw new DomainError("FORBIDDEN", 403, "Only the platform's operators grant plans.");
  const input = parseOrThrow(grantPlanInput, raw, { code: "INVALID_PLAN", message: "The grant is invalid." });
  const plans = plansOf(ctx);
  if (input.plan !== undefined && !plans[input.plan]) {
    throw new InvalidRequestError(`No such plan: ${input.plan}. Plans: ${Object.keys(plans).join(", ")}.`);
  }
  const before = await readTenantBilling(ctx.tx, ctx.tenantId);
  await ctx.tx
    .update(tenants)
    .set({
      ...(input.plan !== undefined ? { plan: input.plan } : {}),
      ...(input.limits !== undefined ? { planLimits: input.limits } : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(tenants.id, ctx.tenantId));
  await recordAudit(ctx, {
    action: "billing.grant",
    resourceType: "tenant",
    resourceId: ctx.tenantId,
    before: { plan: before.plan, limits: before.customLimits },
    after: { plan: input.plan ?? before.plan, limits: input.limits === undefined ? before.customLimits : input.limits },
  });
  return getBilling({ ctx });
}
