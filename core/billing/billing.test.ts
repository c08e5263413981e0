import { describe, expect, it } from "vitest";
import { monthlyUsageCheck, plansLifting } from "./limits";
import { DEFAULT_PLANS, effectivePlan, GRACE_DAYS, readPlans, type PlanLimits } from "./plans";
import { stripeForm } from "./stripe";
import { normalizeBillingEvent } from "./webhook";

const limits = (overrides: Partial<PlanLimits> = {}): PlanLimits => ({ ...DEFAULT_PLANS.free!.limits, ...overrides });
const now = new Date("2026-12-06T12:00:00Z");

describe("plans", () => {
  it("apply the plan's limits, an operator's custom grant over them, and the free plan's once a failed payment's grace is over", () => {
    const billing = { plan: "pro", customLimits: null, subscriptionStatus: "active", paymentFailedAt: null };
    expect(effectivePlan(billing, DEFAULT_PLANS, now)).toMatchObject({ plan: "pro", basis: "plan", limits: DEFAULT_PLANS.pro!.limits });
    const custom = limits({ agents: 500 });
    expect(effectivePlan({ ...billing, customLimits: custom }, DEFAULT_PLANS, now)).toMatchObject({ basis: "custom", limits: custom });
    const failed = new Date(now.getTime() - (GRACE_DAYS - 1) * 86_400_000);
    expect(effectivePlan({ ...billing, paymentFailedAt: failed }, DEFAULT_PLANS, now)).toMatchObject({ basis: "plan", plan: "pro" });
    const longAgo = new Date(now.getTime() - (GRACE_DAYS + 1) * 86_400_000);
    const lapsed = effectivePlan({ ...billing, paymentFailedAt: longAgo }, DEFAULT_PLANS, now);
    expect(lapsed).toMatchObject({ basis: "grace_expired", plan: "pro", limits: DEFAULT_PLANS.free!.limits });
    expect(lapsed.graceEndsAt!.getTime()).toBe(longAgo.getTime() + GRACE_DAYS * 86_400_000);
    // An unknown plan (removed from the configuration) falls back to the free plan.
    expect(effectivePlan({ ...billing, plan: "legacy" }, DEFAULT_PLANS, now).limits).toEqual(DEFAULT_PLANS.free!.limits);
  });

  it("come from BILLING_PLANS, which must define the free plan and valid limits", () => {
    expect(readPlans(undefined)).toBe(DEFAULT_PLANS);
    const custom = readPlans(JSON.stringify({ ...DEFAULT_PLANS, pro: { ...DEFAULT_PLANS.pro, stripePriceId: "price_pro" } }));
    expect(custom.pro!.stripePriceId).toBe("price_pro");
    expect(() => readPlans(JSON.stringify({ pro: DEFAULT_PLANS.pro }))).toThrow(/"free" plan must be defined/);
    expect(() => readPlans(JSON.stringify({ free: { ...DEFAULT_PLANS.free, limits: { agents: -1 } } }))).toThrow(
      /BILLING_PLANS: free\.limits/,
    );
  });

  it("name the plans that lift a limit, cheapest first, among those that can be bought", () => {
    const plans = {
      ...DEFAULT_PLANS,
      pro: { ...DEFAULT_PLANS.pro!, stripePriceId: "price_pro" },
      business: { ...DEFAULT_PLANS.business!, stripePriceId: "price_business" },
    };
    expect(plansLifting(plans, (l) => l.agents === null || l.agents >= 2)).toEqual(["pro", "business"]);
    expect(plansLifting(plans, (l) => l.modules.voice)).toEqual(["business"]);
    expect(plansLifting(DEFAULT_PLANS, (l) => l.modules.voice)).toEqual([]);
  });
});

describe("monthly limits in a turn", () => {
  it("refuse new conversations once the month's are used up, but let counted ones go on", () => {
    const plan = limits({ conversationsPerMonth: 10, modelTokensPerMonth: null });
    expect(monthlyUsageCheck(plan, { tokens: 0, conversations: 5, counted: false })).toEqual({ reached: [] });
    expect(monthlyUsageCheck(plan, { tokens: 0, conversations: 7, counted: false }).reached).toEqual([
      { limit: "conversationsPerMonth", allowed: 10, used: 8, percent: 80 },
    ]);
    expect(monthlyUsageCheck(plan, { tokens: 0, conversations: 9, counted: false })).toEqual({
      reached: [{ limit: "conversationsPerMonth", allowed: 10, used: 10, percent: 100 }],
    });
    expect(monthlyUsageCheck(plan, { tokens: 0, conversations: 10, counted: false }).over).toEqual({
      limit: "conversationsPerMonth",
      allowed: 10,
      used: 10,
    });
    expect(monthlyUsageCheck(plan, { tokens: 0, conversations: 10, counted: true }).over).toBeUndefined();
  });

  it("refuse every turn once the month's model tokens are used up; no limit is never reached", () => {
    const plan = limits({ conversationsPerMonth: null, modelTokensPerMonth: 1000 });
    expect(monthlyUsageCheck(plan, { tokens: 850, conversations: 0, counted: true }).reached[0]).toMatchObject({ percent: 80 });
    expect(monthlyUsageCheck(plan, { tokens: 1000, conversations: 0, counted: true }).over).toMatchObject({ limit: "modelTokensPerMonth" });
    expect(
      monthlyUsageCheck(limits({ conversationsPerMonth: null, modelTokensPerMonth: null }), {
        tokens: 1e12,
        conversations: 1e9,
        counted: false,
      }),
    ).toEqual({
      reached: [],
    });
  });
});

describe("Stripe Billing", () => {
  it("encodes nested parameters the way Stripe reads forms", () => {
    const form = stripeForm({
      mode: "subscription",
      line_items: [{ price: "price_1", quantity: 1 }],
      metadata: { tenantId: "t" },
      skip: undefined,
    });
    expect([...form]).toEqual([
      ["mode", "subscription"],
      ["line_items[0][price]", "price_1"],
      ["line_items[0][quantity]", "1"],
      ["metadata[tenantId]", "t"],
    ]);
  });

  it("queues the events that move a plan, with the customer, status and prices only", () => {
    const event = (type: string, object: Record<string, unknown>) => ({
      id: "evt_1",
      object: "event" as const,
      type,
      created: 1_800_000_000,
      data: { object },
    });
    const subscription = normalizeBillingEvent(
      event("customer.subscription.updated", {
        id: "sub_1",
        customer: "cus_1",
        status: "past_due",
        items: { data: [{ price: { id: "price_pro" } }] },
        metadata: { tenantId: "ignored" },
      }),
      now,
    );
    expect(subscription.messages).toEqual([
      expect.objectContaining({
        kind: "billing.event",
        eventId: "evt_1",
        customerId: "cus_1",
        created: 1_800_000_000,
        subscription: { id: "sub_1", status: "past_due", priceIds: ["price_pro"] },
      }),
    ]);
    expect(normalizeBillingEvent(event("charge.refunded", { customer: "cus_1" }), now)).toEqual({
      messages: [],
      ignored: ["event type charge.refunded is not handled"],
    });
    expect(normalizeBillingEvent(event("invoice.paid", {}), now).ignored).toEqual(["invoice.paid without a customer"]);
    expect(normalizeBillingEvent(event("checkout.session.completed", { customer: "cus_1", mode: "payment" }), now).messages).toEqual([]);
  });
});
