import { eq, sql, type SQL } from "drizzle-orm";
import type { Transaction } from "../../db/client";
import { tenants } from "../../db/schema";
import { usageMonth } from "../engine/budget";
import { DomainError } from "../errors";
import type { AccessContext } from "../access/context";
import {
  DEFAULT_PLANS,
  effectivePlan,
  FREE_PLAN,
  PLAN_LIMITS,
  type EffectivePlan,
  type PlanLimit,
  type PlanLimits,
  type PlanModule,
  type PlansConfig,
  type TenantBilling,
} from "./plans";

/** What a verb's context gives the plan checks. */
type VerbContext = Pick<AccessContext, "tx" | "tenantId" | "services">;

/** The plans in configuration, as the verb's services carry them (the defaults otherwise). */
export function plansOf(ctx: Pick<AccessContext, "services">): PlansConfig {
  return ctx.services?.billing?.plans ?? DEFAULT_PLANS;
}

/** The tenant's billing row as the plan logic reads it. */
export async function readTenantBilling(
  tx: Transaction,
  tenantId: string,
): Promise<TenantBilling & { stripeCustomerId: string | null; stripeSubscriptionId: string | null }> {
  const [row] = await tx
    .select({
      plan: tenants.plan,
      customLimits: tenants.planLimits,
      subscriptionStatus: tenants.subscriptionStatus,
      paymentFailedAt: tenants.paymentFailedAt,
      stripeCustomerId: tenants.stripeCustomerId,
      stripeSubscriptionId: tenants.stripeSubscriptionId,
    })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  return (
    row ?? {
      plan: FREE_PLAN,
      customLimits: null,
      subscriptionStatus: null,
      paymentFailedAt: null,
      stripeCustomerId: null,
      stripeSubscriptionId: null,
    }
  );
}

/** How each limit's use is counted, inside the tenant's transaction (the monthly ones from the month's running totals). */
function usageQueries(tenantId: string, month: string): Record<PlanLimit, SQL> {
  const thisMonth = sql`tenant_id = ${tenantId} and month = ${month}`;
  return {
    conversationsPerMonth: sql`select coalesce(sum(conversations), 0) from usage_months where ${thisMonth}`,
    modelTokensPerMonth: sql`select coalesce(sum(tokens), 0) from usage_months where ${thisMonth}`,
    agents: sql`select count(*) from agents where tenant_id = ${tenantId} and deleted_at is null`,
    channels: sql`select count(*) from channels where tenant_id = ${tenantId}`,
    seats: sql`select (select count(*) from memberships where tenant_id = ${tenantId})
      + (select count(*) from invitations where tenant_id = ${tenantId} and accepted_at is null and expires_at > now())`,
    knowledgeMegabytes: sql`select coalesce(sum(size_bytes), 0) / 1000000.0 from knowledge_sources where tenant_id = ${tenantId}`,
  };
}

/**
 * What the tenant uses of `limits` (default: every limit), counted in one statement: this month's
 * answered conversations and model tokens (the running totals in `usage_months`), agents not
 * deleted, channels, seats (members and pending invitations) and the megabytes of knowledge
 * sources. A verb checking one limit counts only that one.
 */
export async function readPlanUsage<L extends PlanLimit = PlanLimit>(
  tx: Transaction,
  tenantId: string,
  now: Date,
  limits: readonly L[] = PLAN_LIMITS as readonly PlanLimit[] as readonly L[],
): Promise<Record<L, number>> {
  const queries = usageQueries(tenantId, usageMonth(now));
  const columns = limits.map((limit) => sql`(${queries[limit]}) as ${sql.identifier(limit)}`);
  const result = await tx.execute<Record<string, string | number>>(sql`select ${sql.join(columns, sql`, `)}`);
  const row = result.rows[0] ?? {};
  return Object.fromEntries(limits.map((limit) => [limit, Number(row[limit] ?? 0)])) as Record<L, number>;
}

const LIMIT_NAMES: Record<PlanLimit, string> = {
  conversationsPerMonth: "conversations a month",
  modelTokensPerMonth: "model tokens a month",
  agents: "agents",
  channels: "channels",
  seats: "seats",
  knowledgeMegabytes: "MB of knowledge",
};
const MODULE_NAMES: Record<PlanModule, string> = { integrations: "CRM and payment integrations", voice: "phone calls" };

/** The plans that would lift a limit (or include a module), cheapest first: what the error tells the admin to buy. */
export function plansLifting(plans: PlansConfig, satisfies: (limits: PlanLimits) => boolean): string[] {
  return Object.entries(plans)
    .filter(([, candidate]) => candidate.stripePriceId !== undefined || candidate.monthlyPriceUsd === 0)
    .filter(([, candidate]) => satisfies(candidate.limits))
    .sort(([, a], [, b]) => a.monthlyPriceUsd - b.monthlyPriceUsd)
    .map(([id]) => id);
}

/**
 * Refuses adding one more of `limit` (or `amount` more, for knowledge megabytes) beyond the plan:
 * 402 `PLAN_LIMIT_REACHED`, with which limit, what the plan allows, what is used, and the plans
 * that lift it (bought with `POST /v1/billing/checkout`). Call inside the verb's transaction,
 * before the insert.
 */
export async function requireWithinPlan(
  ctx: VerbContext,
  limit: Exclude<PlanLimit, "conversationsPerMonth" | "modelTokensPerMonth">,
  options: { amount?: number; now?: Date } = {},
): Promise<void> {
  const { tx, tenantId } = ctx;
  const plans = plansOf(ctx);
  const now = options.now ?? new Date();
  const current = effectivePlan(await readTenantBilling(tx, tenantId), plans, now);
  const allowed = current.limits[limit];
  if (allowed === null) return;
  const used = (await readPlanUsage(tx, tenantId, now, [limit]))[limit];
  const amount = options.amount ?? 1;
  if (used + amount <= allowed) return;
  throw planLimitError(current, plans, {
    limit,
    allowed,
    used,
    lifting: plansLifting(plans, (limits) => limits[limit] === null || limits[limit] >= used + amount),
  });
}

/** Refuses what a module not in the plan would add (an integration, a phone line). */
export async function requireModule(ctx: VerbContext, module: PlanModule, now = new Date()) {
  const plans = plansOf(ctx);
  const current = effectivePlan(await readTenantBilling(ctx.tx, ctx.tenantId), plans, now);
  if (current.limits.modules[module]) return;
  throw planLimitError(current, plans, { module, lifting: plansLifting(plans, (limits) => limits.modules[module]) });
}

function planLimitError(
  current: EffectivePlan,
  plans: PlansConfig,
  what: { limit: PlanLimit; allowed: number; used: number; lifting: string[] } | { module: PlanModule; lifting: string[] },
): DomainError {
  const names = what.lifting.map((id) => plans[id]?.name ?? id).join(" or ");
  const how = what.lifting.length ? `Upgrade to ${names} (POST /v1/billing/checkout) to lift it.` : "Ask the platform for a custom plan.";
  const graceNote =
    current.basis === "grace_expired" ? " A payment failed and its grace period is over: the free plan's limits apply." : "";
  const message =
    "limit" in what
      ? `Your ${current.name} plan allows ${what.allowed} ${LIMIT_NAMES[what.limit]}; ${what.used} are in use.${graceNote} ${how}`
      : `Your ${current.name} plan does not include ${MODULE_NAMES[what.module]}.${graceNote} ${how}`;
  return new DomainError("PLAN_LIMIT_REACHED", 402, message, {
    plan: current.plan,
    ...("limit" in what ? { limit: what.limit, allowed: what.allowed, used: what.used } : { module: what.module }),
    upgradeTo: what.lifting,
    ...(current.basis === "grace_expired" ? { graceExpired: true } : {}),
  });
}

export type MonthlyLimit = "conversationsPerMonth" | "modelTokensPerMonth";

/** A monthly limit a turn reached: over it (the turn is answered with the plan-limit message) or past 80 % or 100 % of it (an alert). */
export interface MonthlyUsage {
  limit: MonthlyLimit;
  allowed: number;
  used: number;
}

/**
 * Where this turn stands against the plan's monthly limits: `over` when it may not be answered (a
 * new conversation once the month's conversations are used up, any turn once its model tokens
 * are), and the thresholds reached (80 and 100 percent) for the admins' alerts, once a month each.
 */
export function monthlyUsageCheck(
  limits: PlanLimits,
  month: { tokens: number; conversations: number; counted: boolean },
): { over?: MonthlyUsage; reached: Array<MonthlyUsage & { percent: 80 | 100 }> } {
  const reached: Array<MonthlyUsage & { percent: 80 | 100 }> = [];
  let over: MonthlyUsage | undefined;
  const conversations = limits.conversationsPerMonth;
  if (conversations !== null) {
    const used = month.conversations + (month.counted ? 0 : 1);
    if (!month.counted && month.conversations >= conversations)
      over = { limit: "conversationsPerMonth", allowed: conversations, used: month.conversations };
    const percent = threshold(used, conversations);
    if (percent) reached.push({ limit: "conversationsPerMonth", allowed: conversations, used: Math.min(used, conversations), percent });
  }
  const tokens = limits.modelTokensPerMonth;
  if (tokens !== null) {
    if (!over && month.tokens >= tokens) over = { limit: "modelTokensPerMonth", allowed: tokens, used: month.tokens };
    const percent = threshold(month.tokens, tokens);
    if (percent) reached.push({ limit: "modelTokensPerMonth", allowed: tokens, used: month.tokens, percent });
  }
  return { ...(over ? { over } : {}), reached };
}

function threshold(used: number, allowed: number): 80 | 100 | undefined {
  if (used >= allowed) return 100;
  if (used >= allowed * 0.8) return 80;
  return undefined;
}
