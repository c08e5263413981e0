import { and, eq, gte, lt, ne, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { stripeSdk } from "../../core/integrations/stripe/sdk";
import type { BillingConfig } from "../../core/billing/config";
import { describeError, type Logger } from "../../core/observability/log";
import type { Database, Transaction } from "../../db/client";
import { tenants, usageRecords, usageReports } from "../../db/schema";
import { withTenant } from "../../db/tenant";

/** Days looked back for periods not yet reported (Stripe takes meter events up to 35 days old). */
export const REPORT_LOOKBACK_DAYS = 7;
const DAY_MS = 86_400_000;

export interface UsageReportDependencies {
  db: Database;
  billing: BillingConfig;
  logger: Logger;
  /** The Stripe SDK client of the platform's account; built from the configuration when absent. */
  stripe?: Stripe;
}

/**
 * Reports each subscribed tenant's model tokens to the platform's Stripe billing meter, one meter
 * event per completed UTC day. A period's row is written before Stripe is called, with the
 * identifier Stripe deduplicates on (`<tenant>:<meter>:<day>`): a report retried after a failure
 * or a crash sends the same identifier, and one already `reported` is never sent again, so no
 * usage is billed twice. A failed report stays `failed` with the reason and is tried again on the
 * next pass (within the look-back).
 */
/** `reported`: periods sent to Stripe this pass (a day without usage is recorded, not sent); `failed`: sends refused or unanswered. */
export async function reportUsage(deps: UsageReportDependencies, now: Date): Promise<{ reported: number; failed: number }> {
  const account = deps.billing.stripe;
  if (!account) return { reported: 0, failed: 0 };
  const stripe = deps.stripe ?? (await stripeSdk(account.secretKey, account.apiBase, { maxNetworkRetries: 1 }));
  const { rows } = await deps.db.execute<{ tenant_id: string }>(sql`select billing_tenants() as tenant_id`);
  let reported = 0;
  let failed = 0;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (const { tenant_id: tenantId } of rows) {
    for (let back = REPORT_LOOKBACK_DAYS; back >= 1; back--) {
      const start = new Date(today - back * DAY_MS);
      const due = await withTenant(deps.db, tenantId, (tx) => claimPeriod(tx, tenantId, deps.billing.meterEvent, start));
      if (!due) continue;
      try {
        if (due.quantity > 0) {
          await stripe.billing.meterEvents
            .create({
              event_name: deps.billing.meterEvent,
              identifier: due.identifier,
              payload: { stripe_customer_id: due.customer, value: String(due.quantity) },
              timestamp: Math.floor((start.getTime() + DAY_MS) / 1000) - 1,
            })
            .catch((error: unknown) => {
              // Stripe already has this period (a report that crashed before it was marked): done.
              if (/already exists/i.test(String((error as { message?: unknown }).message))) return;
              throw error;
            });
        }
        await withTenant(deps.db, tenantId, (tx) =>
          tx
            .update(usageReports)
            .set({ status: "reported", reportedAt: sql`now()`, error: null, updatedAt: sql`now()` })
            .where(and(eq(usageReports.tenantId, tenantId), eq(usageReports.identifier, due.identifier))),
        );
        if (due.quantity > 0) reported++;
      } catch (error) {
        failed++;
        const reason = String(describeError(error).message ?? "unknown").slice(0, 500);
        deps.logger.log("warn", "billing.report_failed", { tenantId, period: start.toISOString().slice(0, 10), reason });
        await withTenant(deps.db, tenantId, (tx) =>
          tx
            .update(usageReports)
            .set({ status: "failed", error: reason, updatedAt: sql`now()` })
            .where(and(eq(usageReports.tenantId, tenantId), eq(usageReports.identifier, due.identifier))),
        );
      }
    }
  }
  if (reported || failed) deps.logger.log("info", "billing.usage_reported", { reported, failed });
  return { reported, failed };
}

/**
 * A day still to report for a subscribed tenant: its row, written (or its quantity refreshed, until
 * it is reported) with the day's model tokens; undefined when it was reported or the tenant has no
 * subscription (a tenant that never paid has nothing metered).
 */
async function claimPeriod(tx: Transaction, tenantId: string, meter: string, start: Date) {
  const [tenant] = await tx
    .select({ customer: tenants.stripeCustomerId, subscription: tenants.stripeSubscriptionId })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  if (!tenant?.customer || !tenant.subscription) return undefined;
  const end = new Date(start.getTime() + DAY_MS);
  const [sum] = await tx
    .select({ tokens: sql<string>`coalesce(sum(${usageRecords.inputTokens} + ${usageRecords.outputTokens}), 0)::text` })
    .from(usageRecords)
    .where(and(eq(usageRecords.tenantId, tenantId), gte(usageRecords.createdAt, start), lt(usageRecords.createdAt, end)));
  const quantity = Number(sum?.tokens ?? 0);
  const identifier = `${tenantId}:${meter}:${start.toISOString().slice(0, 10)}`;
  const [row] = await tx
    .insert(usageReports)
    .values({ tenantId, meter, periodStart: start, quantity, identifier })
    .onConflictDoUpdate({
      target: [usageReports.tenantId, usageReports.meter, usageReports.periodStart],
      set: { quantity, updatedAt: sql`now()` },
      setWhere: ne(usageReports.status, "reported"),
    })
    .returning({ identifier: usageReports.identifier });
  return row ? { identifier: row.identifier, quantity, customer: tenant.customer } : undefined;
}
