import { and, eq, sql } from "drizzle-orm";
import type { Transaction } from "../../db/client";
import { alertRules, alerts, type AlertRule } from "../../db/schema";
import { tryTenantLock } from "../analytics/rollup";

export interface RuleEvaluation {
  ruleId: string;
  firing: boolean;
  value: number;
  /** Set when this evaluation moved the rule from ok to firing: the alert to deliver. */
  alertId?: string;
}

/**
 * Evaluates a tenant's enabled rules at `now`, inside its tenant-scoped transaction, over the raw
 * records of each rule's window (windows are short; the tenant_id + created_at indexes serve them):
 * - `cost_over`: spend in the window above `thresholdUsd`;
 * - `error_rate`: (turns where every model failed + replies that failed to send) / turns, above
 *   `threshold`, once at least `minTurns` turns ran;
 * - `no_traffic`: no inbound message in the window (for a rule at least one window old).
 * A rule that starts firing writes an `alerts` row (`rule.<kind>`, delivery `pending`); one that
 * stops goes back to `ok` quietly. Nothing is sent here: delivery happens outside the transaction.
 */
export async function evaluateTenantAlerts(tx: Transaction, tenantId: string, now: Date): Promise<RuleEvaluation[]> {
  // Pools evaluating the same tenant at once would each see `ok` and notify twice.
  if (!(await tryTenantLock(tx, "alerts", tenantId))) return [];
  const rules = await tx
    .select()
    .from(alertRules)
    .where(and(eq(alertRules.tenantId, tenantId), eq(alertRules.enabled, true)));
  const results: RuleEvaluation[] = [];
  for (const rule of rules) {
    const since = new Date(now.getTime() - rule.condition.windowMinutes * 60_000);
    const { firing, value, threshold } = await measure(tx, rule, since, now);
    let alertId: string | undefined;
    if (firing && rule.state !== "firing") {
      const [created] = await tx
        .insert(alerts)
        .values({
          tenantId,
          kind: `rule.${rule.condition.kind}`,
          dedupeKey: `${rule.id}:${now.toISOString()}`,
          ruleId: rule.id,
          deliveryStatus: "pending",
          details: {
            ruleId: rule.id,
            ruleName: rule.name,
            kind: rule.condition.kind,
            value,
            threshold,
            windowMinutes: rule.condition.windowMinutes,
          },
        })
        .onConflictDoNothing()
        .returning({ id: alerts.id });
      alertId = created?.id;
    }
    await tx
      .update(alertRules)
      .set({
        state: firing ? "firing" : "ok",
        lastEvaluatedAt: now,
        ...(firing && rule.state !== "firing" ? { lastFiredAt: now } : {}),
      })
      .where(and(eq(alertRules.tenantId, tenantId), eq(alertRules.id, rule.id)));
    results.push({ ruleId: rule.id, firing, value, ...(alertId ? { alertId } : {}) });
  }
  return results;
}

async function measure(
  tx: Transaction,
  rule: AlertRule,
  since: Date,
  now: Date,
): Promise<{ firing: boolean; value: number; threshold: number | null }> {
  const tenantId = rule.tenantId;
  const window = sql`created_at >= ${since.toISOString()}::timestamptz and created_at < ${now.toISOString()}::timestamptz`;
  const condition = rule.condition;
  if (condition.kind === "cost_over") {
    const { rows } = await tx.execute<{ cost: string }>(
      sql`select coalesce(sum(cost_nano_usd), 0)::text as cost from usage_records where tenant_id = ${tenantId} and ${window}`,
    );
    const usd = Number(rows[0]?.cost ?? 0) / 1e9;
    return { firing: usd > condition.thresholdUsd, value: usd, threshold: condition.thresholdUsd };
  }
  if (condition.kind === "error_rate") {
    const { rows } = await tx.execute<{ turns: number; failed: number; unsent: number }>(sql`
      select (select count(*)::int from usage_records where tenant_id = ${tenantId} and ${window}) as turns,
             (select count(*)::int from usage_records where tenant_id = ${tenantId} and ${window} and outcome = 'all_failed') as failed,
             (select count(*)::int from messages where tenant_id = ${tenantId} and ${window} and direction = 'outbound' and status = 'failed') as unsent`);
    const row = rows[0]!;
    const turns = Number(row.turns);
    const rate = turns > 0 ? (Number(row.failed) + Number(row.unsent)) / turns : 0;
    return { firing: turns >= condition.minTurns && rate > condition.threshold, value: rate, threshold: condition.threshold };
  }
  const { rows } = await tx.execute<{ n: number }>(
    sql`select count(*)::int as n from messages where tenant_id = ${tenantId} and ${window} and direction = 'inbound'`,
  );
  const inbound = Number(rows[0]?.n ?? 0);
  const oldEnough = rule.createdAt.getTime() <= since.getTime();
  return { firing: oldEnough && inbound === 0, value: inbound, threshold: null };
}
