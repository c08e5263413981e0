import { useMutation, useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { TimeChart } from "../chart";
import { useI18n } from "../i18n";
import type { MessageKey } from "../i18n/catalogue";
import { Badge, ErrorNotice, Loaded, Page, TableHead } from "../ui";

type Billing = Schemas["Billing"];
type Limit = Billing["usage"][number]["limit"];

/** The plan, usage against each limit (with this month's chart), the next invoice, and upgrading or managing it at Stripe. */
export function BillingPanel() {
  const { t, formatNumber } = useI18n();
  const billing = useQuery({ queryKey: ["billing"], queryFn: () => unwrap(api.GET("/v1/billing")) });
  const checkout = useMutation({
    mutationFn: (plan: string) => unwrap(api.POST("/v1/billing/checkout", { body: { plan } })),
    onSuccess: (session) => window.location.assign(session.url),
  });
  const portal = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/billing/portal", { body: {} })),
    onSuccess: (session) => window.location.assign(session.url),
  });
  const returned = new URLSearchParams(window.location.search).get("checkout");
  const chart = useMemo(() => {
    const days = billing.data?.daily ?? [];
    return {
      x: days.map((day) => Date.parse(`${day.day}T00:00:00Z`) / 1000),
      tokens: [{ label: t("billing.tokens"), values: days.map((day) => day.tokens), color: "#1f6feb" }],
      conversations: [{ label: t("billing.conversations"), values: days.map((day) => day.conversations), color: "#2da44e" }],
    };
  }, [billing.data, t]);
  const usd = (value: number, currency = "USD") => formatNumber(value, { style: "currency", currency: currency.toUpperCase() });

  return (
    <Page title={t("billing.title")}>
      {returned === "success" && <p className="notice">{t("billing.checkoutDone")}</p>}
      {returned === "cancelled" && <p className="notice">{t("billing.checkoutCancelled")}</p>}
      {checkout.error && <ErrorNotice error={checkout.error} />}
      {portal.error && <ErrorNotice error={portal.error} />}
      <Loaded query={billing}>
        {(b) => (
          <>
            <section className="card" aria-labelledby="plan-title" data-testid="billing-plan">
              <h2 id="plan-title">
                {t("billing.plan", { plan: b.plan.name })}{" "}
                {b.subscription && <Badge tone={b.subscription.status === "active" ? "good" : "warn"}>{b.subscription.status}</Badge>}
              </h2>
              <p>{b.plan.monthlyPriceUsd ? t("billing.price", { price: usd(b.plan.monthlyPriceUsd) }) : t("billing.freePrice")}</p>
              {b.basis === "custom" && <p>{t("billing.custom")}</p>}
              {b.grace && (
                <p className="warning" role="alert">
                  {b.basis === "grace_expired"
                    ? t("billing.graceExpired")
                    : t("billing.grace", { date: new Date(b.grace.endsAt).toLocaleDateString() })}
                </p>
              )}
              {b.nextInvoice && (
                <p>
                  {t("billing.nextInvoice", {
                    amount: usd(b.nextInvoice.amountDue, b.nextInvoice.currency),
                    date: b.nextInvoice.periodEnd ? new Date(b.nextInvoice.periodEnd).toLocaleDateString() : "—",
                  })}
                </p>
              )}
              {b.subscription && b.subscription.status !== "canceled" && (
                <button onClick={() => portal.mutate()} disabled={portal.isPending}>
                  {t("billing.manage")}
                </button>
              )}
            </section>
            <section className="card" aria-labelledby="usage-title">
              <h2 id="usage-title">{t("billing.usage")}</h2>
              <table data-testid="billing-usage">
                <TableHead columns={[t("billing.limit"), t("billing.used"), t("billing.allowed"), ""]} />
                <tbody>
                  {b.usage.map((row) => (
                    <tr key={row.limit}>
                      <td>{t(`billing.limit.${row.limit}` as MessageKey)}</td>
                      <td>{formatNumber(row.used)}</td>
                      <td>{row.allowed === null ? t("billing.unlimited") : formatNumber(row.allowed)}</td>
                      <td>
                        {row.allowed !== null && (
                          <progress
                            max={1}
                            value={Math.min(1, row.allowed ? row.used / row.allowed : 1)}
                            aria-label={limitLabel(t, row.limit)}
                          />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {b.alerts.length > 0 && (
                <ul data-testid="billing-alerts">
                  {b.alerts.map((alert) => (
                    <li key={`${alert.kind}:${alert.limit}`}>
                      {t("billing.alert", {
                        percent: formatNumber(alert.percent),
                        limit: limitLabel(t, alert.limit as Limit),
                        date: new Date(alert.createdAt).toLocaleDateString(),
                      })}
                    </li>
                  ))}
                </ul>
              )}
              <div className="charts">
                <TimeChart title={t("billing.tokensChart")} x={chart.x} series={chart.tokens} />
                <TimeChart title={t("billing.conversationsChart")} x={chart.x} series={chart.conversations} />
              </div>
            </section>
            <section className="card" aria-labelledby="plans-title">
              <h2 id="plans-title">{t("billing.plans")}</h2>
              <ul className="plans">
                {b.plans.map((plan) => (
                  <li key={plan.id} data-testid={`plan-${plan.id}`}>
                    <strong>{plan.name}</strong> —{" "}
                    {plan.monthlyPriceUsd ? t("billing.price", { price: usd(plan.monthlyPriceUsd) }) : t("billing.freePrice")}
                    {plan.id === b.plan.id ? (
                      <Badge tone="good">{t("billing.current")}</Badge>
                    ) : (
                      plan.purchasable &&
                      (!b.subscription || b.subscription.status === "canceled") && (
                        <button onClick={() => checkout.mutate(plan.id)} disabled={checkout.isPending}>
                          {t("billing.upgrade", { plan: plan.name })}
                        </button>
                      )
                    )}
                  </li>
                ))}
              </ul>
            </section>
          </>
        )}
      </Loaded>
    </Page>
  );
}

function limitLabel(t: ReturnType<typeof useI18n>["t"], limit: Limit): string {
  return t(`billing.limit.${limit}` as MessageKey);
}
