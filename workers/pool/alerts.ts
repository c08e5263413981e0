import { and, eq, like, lt, sql } from "drizzle-orm";
import { evaluateTenantAlerts } from "../../core/alerts/evaluate";
import { signingSecretOwner } from "../../core/alerts/rules";
import { SIGNATURE_HEADER, signWebhook } from "../../core/alerts/signature";
import { decryptSecret, type Keyring } from "../../core/crypto/secrets";
import type { SafeFetch } from "../../core/http/safe-fetch";
import { describeError, type Logger } from "../../core/observability/log";
import type { Database } from "../../db/client";
import { alertRules, alerts, memberships, roles, users, type Alert } from "../../db/schema";
import { withTenant } from "../../db/tenant";

/** Attempts per alert notification (one per job run) before it is marked `failed`. */
export const MAX_DELIVERY_ATTEMPTS = 5;

export interface Mailer {
  sendMail(message: { from: string; to: string[]; subject: string; text: string }): Promise<unknown>;
}

export interface AlertDeliveryDeps {
  db: Database;
  keyring: Keyring;
  /** The SSRF-safe client (core/http/safe-fetch.ts) with the webhook policy. */
  safeFetch: SafeFetch;
  /** SMTP (nodemailer); without it email rules' alerts fail with a clear reason. */
  mailer?: Mailer;
  emailFrom: string;
  logger: Logger;
  onDelivery?: (channel: "email" | "webhook", outcome: "delivered" | "failed") => void;
  now?: () => Date;
}

/** The JSON body a webhook receives (and the email's content). */
export interface AlertPayload {
  id: string;
  type: "alert.fired";
  tenantId: string;
  createdAt: string;
  rule: { id: string; name: string; kind: string };
  value: number;
  threshold: number | null;
  windowMinutes: number;
}

/**
 * One pass of tenant alerting: every tenant with enabled rules (SECURITY DEFINER lookup, migration
 * 0012) is evaluated in its own transaction, then its pending notifications are delivered; then
 * the plans' usage alerts go to the tenants' admins.
 */
export async function runAlerting(deps: AlertDeliveryDeps): Promise<{ tenants: number; fired: number; delivered: number }> {
  const now = deps.now?.() ?? new Date();
  const { rows } = await deps.db.execute<{ tenant_id: string }>(sql`select alerting_tenants() as tenant_id`);
  let fired = 0;
  let delivered = 0;
  for (const { tenant_id: tenantId } of rows) {
    const results = await withTenant(deps.db, tenantId, (tx) => evaluateTenantAlerts(tx, tenantId, now));
    fired += results.filter((result) => result.alertId).length;
    delivered += await deliverPendingAlerts(deps, tenantId);
  }
  delivered += await deliverPlanAlerts(deps);
  return { tenants: rows.length, fired, delivered };
}

/** Sends a tenant's pending rule alerts, each claimed first (attempt counter compare-and-set) so two pools do not both send it. */
export async function deliverPendingAlerts(deps: AlertDeliveryDeps, tenantId: string): Promise<number> {
  const pending = await withTenant(deps.db, tenantId, (tx) =>
    tx
      .select({ alert: alerts, rule: alertRules })
      .from(alerts)
      .innerJoin(alertRules, eq(alertRules.id, alerts.ruleId))
      .where(and(eq(alerts.tenantId, tenantId), eq(alerts.deliveryStatus, "pending"), lt(alerts.deliveryAttempts, MAX_DELIVERY_ATTEMPTS)))
      .limit(50),
  );
  let delivered = 0;
  for (const { alert, rule } of pending) {
    if (!(await claim(deps, tenantId, alert))) continue;
    const details = alert.details as { value?: number; threshold?: number | null; windowMinutes?: number };
    const payload: AlertPayload = {
      id: alert.id,
      type: "alert.fired",
      tenantId,
      createdAt: alert.createdAt.toISOString(),
      rule: { id: rule.id, name: rule.name, kind: rule.condition.kind },
      value: details.value ?? 0,
      threshold: details.threshold ?? null,
      windowMinutes: details.windowMinutes ?? rule.condition.windowMinutes,
    };
    const channel = rule.delivery.channel;
    let error: string | undefined;
    try {
      if (rule.delivery.channel === "webhook") {
        if (!rule.secretSealed) throw new Error("the rule has no signing secret");
        const secret = await decryptSecret(deps.keyring, { tenantId, owner: signingSecretOwner(rule.id) }, rule.secretSealed);
        const body = JSON.stringify(payload);
        const timestamp = Math.floor((deps.now?.() ?? new Date()).getTime() / 1000);
        const response = await deps.safeFetch({
          url: rule.delivery.url,
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "agent-platform-alerts/1",
            [SIGNATURE_HEADER]: await signWebhook(secret, body, timestamp),
            "x-agent-event": payload.type,
            "x-agent-delivery": alert.id,
          },
          body,
          timeoutMs: 10_000,
          maxRedirects: 0,
          maxResponseBytes: 64 * 1024,
        });
        if (response.status < 200 || response.status >= 300) throw new Error(`the webhook answered ${response.status}`);
      } else {
        if (!deps.mailer) throw new Error("no SMTP server is configured (ALERTS_SMTP_URL)");
        await deps.mailer.sendMail({
          from: deps.emailFrom,
          to: rule.delivery.to,
          subject: `[alert] ${rule.name}`,
          text: emailText(payload),
        });
      }
    } catch (failure) {
      error = String(describeError(failure).message ?? describeError(failure).error).slice(0, 500);
    }
    if (await settle(deps, tenantId, alert, channel, error)) delivered++;
  }
  return delivered;
}

/** Claims an alert's next delivery attempt (compare-and-set on the counter): two pools never both send it. */
async function claim(deps: AlertDeliveryDeps, tenantId: string, alert: Alert): Promise<boolean> {
  const claimed = await withTenant(deps.db, tenantId, (tx) =>
    tx
      .update(alerts)
      .set({ deliveryAttempts: alert.deliveryAttempts + 1 })
      .where(
        and(
          eq(alerts.tenantId, tenantId),
          eq(alerts.id, alert.id),
          eq(alerts.deliveryAttempts, alert.deliveryAttempts),
          eq(alerts.deliveryStatus, "pending"),
        ),
      )
      .returning({ id: alerts.id }),
  );
  return claimed.length > 0;
}

/** Records how a claimed delivery went: delivered, or the reason (failed for good after the last attempt). */
async function settle(
  deps: AlertDeliveryDeps,
  tenantId: string,
  alert: Alert,
  channel: "email" | "webhook",
  error: string | undefined,
): Promise<boolean> {
  const exhausted = alert.deliveryAttempts + 1 >= MAX_DELIVERY_ATTEMPTS;
  await withTenant(deps.db, tenantId, (tx) =>
    tx
      .update(alerts)
      .set(
        error
          ? { deliveryError: error, ...(exhausted ? { deliveryStatus: "failed" as const } : {}) }
          : { deliveryStatus: "delivered", deliveredAt: new Date(), deliveryError: null },
      )
      .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, alert.id))),
  );
  deps.onDelivery?.(channel, error ? "failed" : "delivered");
  if (error) {
    deps.logger.log("warn", "alerts.delivery_failed", {
      tenantId,
      alertId: alert.id,
      channel,
      attempt: alert.deliveryAttempts + 1,
      reason: error,
    });
    return false;
  }
  deps.logger.log("info", "alerts.delivered", { tenantId, alertId: alert.id, channel });
  return true;
}

const LIMIT_WORDS: Record<string, string> = {
  conversationsPerMonth: "conversations this month",
  modelTokensPerMonth: "model tokens this month",
};

/**
 * The plan's usage alerts (`plan.usage_80`, `plan.usage_100`, raised by turns) to every admin of
 * the tenant by email: tenants with one pending are found by a SECURITY DEFINER lookup (migration
 * 0031), each alert is claimed and settled like a rule's.
 */
export async function deliverPlanAlerts(deps: AlertDeliveryDeps): Promise<number> {
  const { rows } = await deps.db.execute<{ tenant_id: string }>(sql`select tenants_with_plan_alerts() as tenant_id`);
  let delivered = 0;
  for (const { tenant_id: tenantId } of rows) {
    const { pending, admins } = await withTenant(deps.db, tenantId, async (tx) => ({
      pending: await tx
        .select()
        .from(alerts)
        .where(
          and(
            eq(alerts.tenantId, tenantId),
            like(alerts.kind, "plan.%"),
            eq(alerts.deliveryStatus, "pending"),
            lt(alerts.deliveryAttempts, MAX_DELIVERY_ATTEMPTS),
          ),
        )
        .limit(20),
      admins: await tx
        .select({ email: users.email })
        .from(memberships)
        .innerJoin(users, eq(users.id, memberships.userId))
        .innerJoin(roles, eq(roles.id, memberships.roleId))
        .where(and(eq(memberships.tenantId, tenantId), eq(roles.name, "admin"), eq(roles.builtin, true))),
    }));
    for (const alert of pending) {
      if (!(await claim(deps, tenantId, alert))) continue;
      const details = alert.details as { plan?: string; limit?: string; allowed?: number; used?: number; percent?: number };
      let error: string | undefined;
      try {
        if (!deps.mailer) throw new Error("no SMTP server is configured (ALERTS_SMTP_URL)");
        if (!admins.length) throw new Error("the tenant has no admins to tell");
        const what = LIMIT_WORDS[details.limit ?? ""] ?? details.limit ?? "usage";
        await deps.mailer.sendMail({
          from: deps.emailFrom,
          to: admins.map((admin) => admin.email),
          subject: `[plan] ${details.percent ?? 100}% of your plan's ${what}`,
          text:
            `Your ${details.plan ?? ""} plan allows ${details.allowed ?? "?"} ${what}; ${details.used ?? "?"} are used (${details.percent ?? 100}%).\n\n` +
            (details.percent === 100
              ? "New conversations are answered with your plan-limit message until the month ends or the plan is upgraded.\n"
              : "At 100% new conversations are answered with your plan-limit message.\n") +
            "Upgrade in the console's Billing panel (or POST /v1/billing/checkout).\n",
        });
      } catch (failure) {
        error = String(describeError(failure).message ?? describeError(failure).error).slice(0, 500);
      }
      if (await settle(deps, tenantId, alert, "email", error)) delivered++;
    }
  }
  return delivered;
}

function emailText(payload: AlertPayload): string {
  const what =
    payload.rule.kind === "cost_over"
      ? `Spend in the last ${payload.windowMinutes} minutes is $${payload.value.toFixed(4)}, over the threshold of $${payload.threshold}.`
      : payload.rule.kind === "error_rate"
        ? `The error rate over the last ${payload.windowMinutes} minutes is ${(payload.value * 100).toFixed(1)}%, over ${((payload.threshold ?? 0) * 100).toFixed(1)}%.`
        : `No messages arrived in the last ${payload.windowMinutes} minutes.`;
  return `Alert "${payload.rule.name}" fired at ${payload.createdAt}.\n\n${what}\n\nAlert id: ${payload.id}\n`;
}
