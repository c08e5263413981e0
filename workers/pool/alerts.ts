import { and, eq, lt, sql } from "drizzle-orm";
import { evaluateTenantAlerts } from "../../core/alerts/evaluate";
import { signingSecretOwner } from "../../core/alerts/rules";
import { SIGNATURE_HEADER, signWebhook } from "../../core/alerts/signature";
import { decryptSecret, type Keyring } from "../../core/crypto/secrets";
import type { SafeFetch } from "../../core/http/safe-fetch";
import { describeError, type Logger } from "../../core/observability/log";
import type { Database } from "../../db/client";
import { alertRules, alerts } from "../../db/schema";
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
 * 0012) is evaluated in its own transaction, then its pending notifications are delivered.
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
    if (claimed.length === 0) continue;
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
    if (error)
      deps.logger.log("warn", "alerts.delivery_failed", {
        tenantId,
        alertId: alert.id,
        channel,
        attempt: alert.deliveryAttempts + 1,
        reason: error,
      });
    else {
      delivered++;
      deps.logger.log("info", "alerts.delivered", { tenantId, alertId: alert.id, channel });
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
