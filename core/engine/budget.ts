import type { TenantBudget } from "../tenants/settings";
import { NANO_USD_PER_USD } from "./pricing";

export type BudgetState = "normal" | "soft_limit" | "hard_limit";

/**
 * Where a tenant stands against its monthly budget, from what it has spent so far this month (in
 * nano-dollars). A limit of 0 means no budget. The soft limit is `softLimitRatio × limit`; at or
 * past it the engine uses the cheapest candidate; at or past the limit it answers with the
 * tenant's hard-limit message and calls no model.
 */
export function budgetState(budget: Pick<TenantBudget, "monthlyLimitUsd" | "softLimitRatio">, spentNanoUsd: number): BudgetState {
  if (!(budget.monthlyLimitUsd > 0)) return "normal";
  const limit = Math.round(budget.monthlyLimitUsd * NANO_USD_PER_USD);
  if (spentNanoUsd >= limit) return "hard_limit";
  if (spentNanoUsd >= Math.round(limit * budget.softLimitRatio)) return "soft_limit";
  return "normal";
}

/** The budget month a moment falls in, in UTC: its first instant and its key (`2026-11`). */
export function budgetMonth(now: Date): { start: Date; key: string } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  return { start, key: `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, "0")}` };
}

/** The budget month's key in `usage_months` (its first day, `2026-11-01`), which the database keeps the running totals under. */
export function usageMonth(now: Date): string {
  return budgetMonth(now).start.toISOString().slice(0, 10);
}
